#!/usr/bin/env python3
"""Writes a single-layer docker-archive of a busybox root filesystem directory (made by
scripts/make-busybox-rootfs.sh from Debian's busybox-static), with the config of the real
busybox image (Cmd ["sh"], the usual PATH). Entries are sorted and owned by root with a
fixed mtime, so the same tree always gives the same image ID.

Usage: make-busybox.py OUT.tar TAG ROOTFS_DIR      prints the image ID (sha256:<config digest>)
"""
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

MTIME = 1600000000


def layer_tar(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                st = os.lstat(path)
                ti = tarfile.TarInfo(rel)
                ti.mode, ti.mtime, ti.uid, ti.gid = stat.S_IMODE(st.st_mode), MTIME, 0, 0
                ti.uname = ti.gname = "root"
                if stat.S_ISLNK(st.st_mode):
                    ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
                    t.addfile(ti)
                elif stat.S_ISDIR(st.st_mode):
                    ti.type = tarfile.DIRTYPE
                    t.addfile(ti)
                elif stat.S_ISREG(st.st_mode):
                    ti.size = st.st_size
                    with open(path, "rb") as f:
                        t.addfile(ti, f)
                else:
                    sys.exit(f"make-busybox.py: {path}: unexpected file type")
    return buf.getvalue()


def main():
    out, tag, root = sys.argv[1], sys.argv[2], sys.argv[3]
    layer = layer_tar(root)
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_hex]},
        "history": [{"created": "2024-01-01T00:00:00Z",
                     "created_by": "scripts/make-busybox-rootfs.sh (Debian busybox-static)"}],
    }).encode()
    cfg_hex = hashlib.sha256(config).hexdigest()
    with tarfile.open(out, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, MTIME
            t.addfile(ti, io.BytesIO(data))
        add(f"{cfg_hex}.json", config)
        add(f"{layer_hex}/layer.tar", layer)
        add("manifest.json", json.dumps(
            [{"Config": f"{cfg_hex}.json", "RepoTags": [tag],
              "Layers": [f"{layer_hex}/layer.tar"]}]).encode())
    print("sha256:" + cfg_hex)


if __name__ == "__main__":
    main()

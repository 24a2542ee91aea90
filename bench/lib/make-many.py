#!/usr/bin/env python3
"""Writes one docker-archive holding N tiny distinct single-layer images, tagged
many/imgI:latest, so `images` lists N images after a single load.

Usage: make-many.py OUT.tar N
"""
import hashlib
import io
import json
import sys
import tarfile


def tarbytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1600000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    with tarfile.open(out, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1600000000
            t.addfile(ti, io.BytesIO(data))
        manifest = []
        for i in range(n):
            layer = tarbytes([(f"file{i}", f"image {i}\n".encode())])
            lh = hashlib.sha256(layer).hexdigest()
            cfg = json.dumps({
                "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                "config": {}, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh]},
            }).encode()
            ch = hashlib.sha256(cfg).hexdigest()
            add(f"{ch}.json", cfg)
            add(f"{lh}/layer.tar", layer)
            manifest.append({"Config": f"{ch}.json", "RepoTags": [f"many/img{i}:latest"],
                             "Layers": [f"{lh}/layer.tar"]})
        add("manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()

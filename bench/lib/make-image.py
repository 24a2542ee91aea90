#!/usr/bin/env python3
"""Writes a docker-archive with a busybox base layer plus LAYERS-1 layers of pseudo-random
(incompressible) files, MB megabytes in total, so every engine loads exactly the same bytes.
The content is seeded, so two runs write identical archives.

Usage: make-image.py OUT.tar TAG MB LAYERS      prints the image ID (sha256:<config digest>)
"""
import hashlib
import io
import json
import random
import sys
import tarfile

BUSYBOX = "/bin/busybox"  # Debian's busybox-static


def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, 1600000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def main():
    out, tag, mb, nlayers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    layers = [layer_tar([("bin/busybox", busybox, 0o755)])]
    rng = random.Random(42)
    per_layer = (mb << 20) // max(nlayers - 1, 1)
    for i in range(nlayers - 1):
        # 8 files a layer: several files per layer, like a real image, without making
        # the per-file overhead dominate.
        files = [(f"data/{i}/f{j}", rng.randbytes(per_layer // 8), 0o644) for j in range(8)]
        layers.append(layer_tar(files))
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/busybox", "sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
                    for i in range(len(layers))],
    }).encode()
    cfg_hex = hashlib.sha256(config).hexdigest()
    with tarfile.open(out, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1600000000
            t.addfile(ti, io.BytesIO(data))
        add(f"{cfg_hex}.json", config)
        paths = []
        for layer in layers:
            p = hashlib.sha256(layer).hexdigest() + "/layer.tar"
            add(p, layer)
            paths.append(p)
        add("manifest.json", json.dumps(
            [{"Config": f"{cfg_hex}.json", "RepoTags": [tag], "Layers": paths}]).encode())
    print("sha256:" + cfg_hex)


if __name__ == "__main__":
    main()

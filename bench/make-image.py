#!/usr/bin/env python3
"""Writes a docker-archive with a busybox base layer plus N layers of pseudo-random files,
so every engine loads exactly the same bytes. Usage: make-image.py OUT.tar TAG MB LAYERS"""
import hashlib, io, json, os, random, sys, tarfile

out, tag, mb, nlayers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = mode; ti.mtime = 1600000000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()

layers = [layer_tar([("bin/busybox", open("/bin/busybox", "rb").read(), 0o755)])]
rng = random.Random(42)
per = (mb << 20) // max(nlayers - 1, 1)
for i in range(nlayers - 1):
    files = [(f"data/{i}/f{j}", rng.randbytes(per // 8), 0o644) for j in range(8)]
    layers.append(layer_tar(files))
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/busybox", "sh"]}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(layers))]}).encode()
cfg_hex = hashlib.sha256(config).hexdigest()
with tarfile.open(out, "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    add(f"{cfg_hex}.json", config)
    paths = []
    for l in layers:
        p = hashlib.sha256(l).hexdigest() + "/layer.tar"; add(p, l); paths.append(p)
    add("manifest.json", json.dumps([{"Config": f"{cfg_hex}.json", "RepoTags": [tag], "Layers": paths}]).encode())

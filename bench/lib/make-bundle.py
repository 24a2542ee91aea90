#!/usr/bin/env python3
"""Adjusts the config.json that `crun spec` wrote into an OCI bundle for the bare-runtime
baseline of run_rm: process.args ["true"] without a terminal, the busybox rootfs (absolute
path, read-only as `crun spec` has it), a new network namespace (as `--network none`), and
a cgroupsPath of its own (so that the bench can tell its cgroups from anyone else's).
Everything else stays as `crun spec` makes it.

Usage: make-bundle.py CONFIG.json ROOTFS CGROUPS_PATH
"""
import json
import sys


def main():
    path, rootfs, cgroups_path = sys.argv[1:4]
    with open(path) as f:
        c = json.load(f)
    c["process"]["terminal"] = False
    c["process"]["args"] = ["true"]
    c["root"]["path"] = rootfs
    linux = c.setdefault("linux", {})
    ns = [n for n in linux.get("namespaces", []) if n.get("type") != "network"]
    ns.append({"type": "network"})
    linux["namespaces"] = ns
    linux["cgroupsPath"] = cgroups_path
    with open(path, "w") as f:
        json.dump(c, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks that a saved docker-archive really holds the benchmark image: a manifest.json
naming TAG, LAYERS layers, each present in the archive, and at least MIN_MB megabytes.
Does not require the config digest to match (engines may legitimately rewrite it), but
reports it. Exits 1 with a one-line reason otherwise.

Usage: check-archive.py FILE TAG LAYERS MIN_MB
"""
import json
import os
import sys
import tarfile


def main():
    path, tag, nlayers, min_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if not os.path.exists(path):
        sys.exit(f"{path}: missing")
    size = os.path.getsize(path)
    if size < min_mb << 20:
        sys.exit(f"{path}: {size >> 20} MB, expected at least {min_mb} MB")
    with tarfile.open(path) as t:
        names = set(t.getnames())
        if "manifest.json" not in names:
            sys.exit(f"{path}: no manifest.json")
        manifest = json.load(t.extractfile("manifest.json"))
    entry = next((m for m in manifest
                  if tag in (m.get("RepoTags") or []) or f"localhost/{tag}" in (m.get("RepoTags") or [])),
                 None)
    if entry is None:
        sys.exit(f"{path}: no manifest entry tagged {tag}")
    layers = entry.get("Layers") or []
    if len(layers) != nlayers:
        sys.exit(f"{path}: {len(layers)} layers, expected {nlayers}")
    missing = [p for p in layers + [entry.get("Config", "")] if p not in names]
    if missing:
        sys.exit(f"{path}: manifest names entries not in the archive: {missing}")
    print(f"ok {size >> 20} MB, config {entry['Config']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Turns one bench run's results directory into the table of medians (stdout) and one JSON
file. Inputs in RESULTS: meta.tsv (key<TAB>value), workloads.tsv (name<TAB>runs<TAB>description),
and per workload and engine either WL.ENGINE.json (hyperfine --export-json) or
WL.ENGINE.na (why there is no number).

Usage: report.py RESULTS OUT.json
"""
import json
import os
import sys

ENGINES = ["berth", "docker", "podman"]
ANCHORS = ["docker", "podman"]
# The charter's goal: berth at most 1/5 of docker's time on these workloads.
GOAL = {"load": 5.0, "save": 5.0}


def read_tsv(path, fields=2):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(tuple(line.split("\t", fields - 1)))
    return rows


def fmt_time(s):
    if s >= 1.0:
        return f"{s:.2f} s"
    return f"{s * 1000:.1f} ms"


def main():
    results, out = sys.argv[1], sys.argv[2]
    meta = dict(read_tsv(os.path.join(results, "meta.tsv")))
    workloads = read_tsv(os.path.join(results, "workloads.tsv"), 3)
    notes = []  # reasons, numbered in order of first use

    def note(reason):
        if reason not in notes:
            notes.append(reason)
        return notes.index(reason) + 1

    doc = {"meta": meta, "workloads": {}}
    rows = []
    for wl, runs, desc in workloads:
        entry = {"description": desc, "runs": int(runs), "engines": {}}
        medians, cells = {}, {}
        for e in ENGINES:
            base = os.path.join(results, f"{wl}.{e}")
            if os.path.exists(base + ".json"):
                with open(base + ".json") as f:
                    r = json.load(f)["results"][0]
                medians[e] = r["median"]
                entry["engines"][e] = {k: r.get(k) for k in
                                       ("median", "mean", "stddev", "min", "max", "times")}
                cells[e] = fmt_time(r["median"])
            else:
                reason = "not measured"
                if os.path.exists(base + ".na"):
                    with open(base + ".na") as f:
                        reason = f.read().strip() or reason
                entry["engines"][e] = {"na": reason}
                cells[e] = f"n/a [{note(f'{e}: {reason}')}]"
        for a in ANCHORS:
            if a in medians and "berth" in medians and medians["berth"] > 0:
                ratio = medians[a] / medians["berth"]
                entry[f"{a}/berth"] = ratio
                cells[f"{a}/berth"] = f"{ratio:.2f}x"
            else:
                cells[f"{a}/berth"] = "n/a"
        doc["workloads"][wl] = entry
        rows.append([wl] + [cells[e] for e in ENGINES] + [cells[f"{a}/berth"] for a in ANCHORS])

    header = ["workload", "berth", "docker", "podman", "docker/berth", "podman/berth"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    runs = ", ".join(f"{wl} {r}" for wl, r, _ in workloads)
    print(f"medians over runs ({runs}) with hyperfine after 1 warmup; "
          "ratio = anchor time / berth time, > 1 means berth is faster")
    print(f"load average before/after: {meta.get('loadavg_start', '?')} / {meta.get('loadavg_end', '?')}")
    for wl, _, _ in workloads:
        if wl in GOAL:
            r = doc["workloads"][wl].get("docker/berth")
            if r is None:
                status = "unknown (no ratio)"
            else:
                status = "met" if r >= GOAL[wl] else "NOT met"
            print(f"goal {wl}: docker/berth >= {GOAL[wl]:.0f}x: {status}")
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")
    doc["notes"] = notes
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

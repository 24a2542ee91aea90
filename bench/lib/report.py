#!/usr/bin/env python3
"""Turns one bench run's results directory into the table of medians (stdout) and one JSON
file. Inputs in RESULTS: meta.tsv (key<TAB>value), workloads.tsv (one line per table row:
row<TAB>runs<TAB>description[<TAB>unit], unit s (default) or MiB), and per row and engine
either ROW.ENGINE.json (hyperfine --export-json, or lib/record.py's file of the same shape)
or ROW.ENGINE.na (why there is no number). An engine with neither for a row does not take
part in it ("-"); the bare runtimes' columns (crun, runc) only appear when some row has them.

Usage: report.py RESULTS OUT.json
       report.py --row ROW.ENGINE.json PREFIX [SUFFIX]      prints one result on one line
"""
import json
import os
import sys

ENGINES = ["berth", "docker", "podman", "crun", "runc"]
SLOWDOWN = 1.25  # many: "no per-run slowdown" = last 20 starts' median <= 1.25 x first 20's


def berth(doc, row):
    e = doc["workloads"].get(row, {}).get("engines", {}).get("berth", {})
    return e.get("median")


def ratio(doc, row, anchor):
    return doc["workloads"].get(row, {}).get(f"{anchor}/berth")


# Goals of the charter (load, save) and of the container issue. Each: row it needs, text,
# and a test on the document giving True/False, or None when berth has no number.
GOALS = [
    ("load", "docker/berth >= 5x", lambda d: None if ratio(d, "load", "docker") is None
     else ratio(d, "load", "docker") >= 5),
    ("save", "docker/berth >= 5x", lambda d: None if ratio(d, "save", "docker") is None
     else ratio(d, "save", "docker") >= 5),
    ("run_rm", "berth <= 1.5x bare crun (crun/berth >= 0.67x)",
     lambda d: None if ratio(d, "run_rm", "crun") is None else ratio(d, "run_rm", "crun") >= 1 / 1.5),
    ("many.start", "berth's 200 starts <= 8 s",
     lambda d: None if berth(d, "many.start") is None else berth(d, "many.start") <= 8.0),
    ("many.last20", f"berth's last 20 starts <= {SLOWDOWN}x its first 20 (no slowdown as the count grows)",
     lambda d: None if berth(d, "many.last20") is None or berth(d, "many.first20") is None
     else berth(d, "many.last20") <= SLOWDOWN * berth(d, "many.first20")),
    ("many.ps", "berth's ps with 200 running <= 20 ms",
     lambda d: None if berth(d, "many.ps") is None else berth(d, "many.ps") <= 0.020),
    ("many.rm-f", "berth's rm -f of 200 <= 2 s",
     lambda d: None if berth(d, "many.rm-f") is None else berth(d, "many.rm-f") <= 2.0),
    ("rss", "berth's monitor <= 1 MiB RSS per container",
     lambda d: None if berth(d, "rss") is None else berth(d, "rss") <= 1.0),
]


def read_tsv(path, fields=2):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(tuple(line.split("\t", fields - 1)))
    return rows


def fmt(v, unit="s"):
    if unit != "s":
        return f"{v:.2f} {unit}"
    if v >= 1.0:
        return f"{v:.2f} s"
    return f"{v * 1000:.1f} ms"


def one_row(path, prefix, suffix):
    r = json.load(open(path))["results"][0]
    u = r.get("unit", "s")
    extra = ""
    if len(r.get("times") or []) > 1:
        extra = f" (min {fmt(r['min'], u)}, max {fmt(r['max'], u)}, n={len(r['times'])})"
    info = "".join(f", {k} {v}" for k, v in (r.get("info") or {}).items())
    print(f"{prefix}median {fmt(r['median'], u)}{extra}{info}{suffix}")


def main():
    if sys.argv[1] == "--row":
        one_row(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
        return
    results, out = sys.argv[1], sys.argv[2]
    meta = dict(read_tsv(os.path.join(results, "meta.tsv")))
    rows_in = [(r + ("s",))[:4] for r in read_tsv(os.path.join(results, "workloads.tsv"), 4)]
    notes = []  # reasons, numbered in order of first use

    def note(reason):
        if reason not in notes:
            notes.append(reason)
        return notes.index(reason) + 1

    def state(row, e):
        base = os.path.join(results, f"{row}.{e}")
        if os.path.exists(base + ".json"):
            return "json", base + ".json"
        if os.path.exists(base + ".na"):
            return "na", base + ".na"
        return None, None

    engines = [e for e in ENGINES
               if e in ("berth", "docker", "podman") or any(state(r[0], e)[0] for r in rows_in)]
    anchors = [e for e in engines if e != "berth"]
    doc = {"meta": meta, "workloads": {}}
    rows = []
    for row, runs, desc, unit in rows_in:
        entry = {"description": desc, "runs": int(runs), "unit": unit, "engines": {}}
        medians, cells = {}, {}
        for e in engines:
            kind, path = state(row, e)
            if kind == "json":
                with open(path) as f:
                    r = json.load(f)["results"][0]
                medians[e] = r["median"]
                entry["engines"][e] = {k: r.get(k) for k in
                                       ("median", "mean", "stddev", "min", "max", "times", "info", "series")
                                       if r.get(k) is not None}
                cells[e] = fmt(r["median"], unit)
            elif kind == "na":
                with open(path) as f:
                    reason = f.read().strip() or "not measured"
                entry["engines"][e] = {"na": reason}
                cells[e] = f"n/a [{note(f'{e}: {reason}')}]"
            else:
                cells[e] = "-"
        for a in anchors:
            if a in medians and "berth" in medians and medians["berth"] > 0:
                x = medians[a] / medians["berth"]
                entry[f"{a}/berth"] = x
                cells[f"{a}/berth"] = f"{x:.2f}x"
            else:
                cells[f"{a}/berth"] = "n/a" if state(row, a)[0] else "-"
        doc["workloads"][row] = entry
        rows.append([row] + [cells[e] for e in engines] + [cells[f"{a}/berth"] for a in anchors])

    header = ["workload"] + engines + [f"{a}/berth" for a in anchors]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    runs = ", ".join(f"{row} {r}" for row, r, _, _ in rows_in)
    print(f"medians (runs: {runs}); timed with hyperfine after 1 warmup unless the row says "
          "otherwise; ratio = anchor / berth, > 1 means berth is faster (or smaller); "
          "'-' = not part of that row")
    print(f"load average before/after: {meta.get('loadavg_start', '?')} / {meta.get('loadavg_end', '?')}")
    if meta.get("cgroups"):
        print(f"cgroups: {meta['cgroups']}")
    described = [(row, desc) for row, _, desc, _ in rows_in if "." in row or row in ("rss",)]
    for row, desc in described:
        print(f"  {row}: {desc}")
    goals = {}
    for row, text, test in GOALS:
        if row not in doc["workloads"]:
            continue
        ok = test(doc)
        status = "unknown (berth has no number)" if ok is None else ("met" if ok else "NOT met")
        goals[row] = {"goal": text, "status": status}
        print(f"goal {row}: {text}: {status}")
    doc["goals"] = goals
    for i, n in enumerate(notes, 1):
        print(f"[{i}] {n}")
    doc["notes"] = notes
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes one result of a workload that times itself, in the shape of hyperfine's
--export-json (results[0] with median, mean, stddev, min, max, times) plus its unit and
optional facts, so that report.py reads it like a hyperfine result.

Usage: record.py OUT.json UNIT [--info KEY=VALUE]... [--series NAME=FILE]... VALUE...
       (UNIT: s or MiB; a series is a file of whitespace-separated numbers kept as a list,
       e.g. every one of the 200 start times)
"""
import json
import statistics
import sys


def main():
    out, unit, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    info, series, values = {}, {}, []
    while args:
        a = args.pop(0)
        if a == "--info":
            k, _, v = args.pop(0).partition("=")
            info[k] = v
        elif a == "--series":
            k, _, path = args.pop(0).partition("=")
            with open(path) as f:
                series[k] = [float(x) for x in f.read().split()]
        else:
            values.append(float(a))
    if not values:
        sys.exit("record.py: no values")
    r = {"median": statistics.median(values), "mean": statistics.fmean(values),
         "stddev": statistics.stdev(values) if len(values) > 1 else None,
         "min": min(values), "max": max(values), "times": values, "unit": unit}
    if info:
        r["info"] = info
    if series:
        r["series"] = series
    with open(out, "w") as f:
        json.dump({"results": [r]}, f)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Lists what a bench run left running: every process in the network namespace of PID
(the bench's own, made by unshare --net) that is neither PID nor below it (a shim, conmon
or monitor that outlived its engine), and everything below those (the containers, in
namespaces of their own). Prints "pid comm" lines; kills nothing.

Usage: leftovers.py PID HOST_NETNS     (refuses if PID's network namespace is HOST_NETNS,
                                      as readlink /proc/self/ns/net gives it)
"""
import os
import sys


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def main():
    me = int(sys.argv[1])
    netns = os.readlink(f"/proc/{me}/ns/net")
    if netns == sys.argv[2]:
        sys.exit("leftovers.py: PID is in the host's network namespace; refusing")
    parent, comm, net = {}, {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        status = read(f"/proc/{pid}/status")
        if status is None:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parent[pid] = int(line.split()[1])
            elif line.startswith("Name:"):
                comm[pid] = line.split(None, 1)[1] if len(line.split()) > 1 else "?"
        try:
            net[pid] = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            net[pid] = None

    def below(pid, ancestor):
        seen = set()
        while pid not in (0, 1) and pid not in seen:
            if pid == ancestor:
                return True
            seen.add(pid)
            pid = parent.get(pid, 0)
        return pid == ancestor

    kernel = {p for p in parent if p == 2 or parent[p] == 2}
    roots = [p for p in parent if p != 1 and p not in kernel and net.get(p) == netns and not below(p, me)]
    out = set(roots)
    for p in parent:
        if any(below(p, r) for r in roots):
            out.add(p)
    out.discard(os.getpid())
    for p in sorted(out):
        print(p, comm.get(p, "?"))


if __name__ == "__main__":
    main()

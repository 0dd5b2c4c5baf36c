#!/usr/bin/env python3
"""Summarises `perf script -F tid,ip,sym,dso` output (call graphs) as
Markdown: per thread, its share of the samples, the functions that
spend them (self), and the nearest caller inside the program (the first
frame in the given binary), which says what part of hbd the time serves.

usage: perf_top.py PERF_SCRIPT_OUTPUT BINARY_NAME [TOP] [THREAD_NAMES_JSON]
"""
import collections
import json
import sys


def samples(path):
    tid, frames = None, []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if tid is not None:
                    yield tid, frames
                tid, frames = None, []
                continue
            if not line.startswith((" ", "\t")) or tid is None and \
                    line.strip().isdigit():
                try:
                    tid = int(line.split()[0])
                except ValueError:
                    tid = None
                frames = []
                continue
            parts = line.strip().split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            sym, _, dso = rest.rpartition(" (")
            frames.append((sym or "[unknown]", dso.rstrip(")")))
    if tid is not None:
        yield tid, frames


def short_dso(dso):
    return dso.rsplit("/", 1)[-1]


# What a sample's time serves, by the first marker found on its stack,
# leaf first: the system calls by their libc wrappers (the kernel's own
# frames above them count as theirs), the libraries by name.
SERVES = [
    ("sending replies (sendmmsg, on loopback also the delivery to the "
     "receiver)", lambda s, d: "sendmmsg" in s),
    ("receiving (recvmmsg)", lambda s, d: "recvmmsg" in s),
    ("sleeping and waking up (epoll_wait)", lambda s, d: "epoll_wait" in s),
    ("libsodium: the BLAKE2b MACs (and the host table's SipHash)",
     lambda s, d: "libsodium" in d),
    ("SQLite", lambda s, d: "libsqlite3" in d),
    ("writing and syncing the database file",
     lambda s, d: s.startswith(("__libc_pwrite", "__libc_pread", "fdatasync",
                                "__fdatasync"))),
]


def serves(frames):
    for sym, dso in frames:
        for label, match in SERVES:
            if match(sym, dso):
                return label
    return "the rest (the program's code, malloc, page faults...)"


def main():
    path, binary = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    names = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    per_tid = collections.Counter()
    self_sym = collections.defaultdict(collections.Counter)
    caller = collections.defaultdict(collections.Counter)
    by_dso = collections.defaultdict(collections.Counter)
    served = collections.defaultdict(collections.Counter)
    total = 0
    for tid, frames in samples(path):
        if not frames:
            continue
        total += 1
        per_tid[tid] += 1
        sym, dso = frames[0]
        self_sym[tid]["%s (%s)" % (sym, short_dso(dso))] += 1
        by_dso[tid][short_dso(dso)] += 1
        served[tid][serves(frames)] += 1
        own = next((s for s, d in frames if d.endswith("/" + binary)
                    and s != "[unknown]"), None)
        caller[tid][own or "(no %s frame)" % binary] += 1
    if not total:
        print("(no samples)")
        return
    for tid, n in per_tid.most_common():
        name = names.get(str(tid), "")
        print("Thread %d%s: %.1f %% of the process's samples (%d)."
              % (tid, " (%s)" % name if name else "", 100.0 * n / total, n))
        print()
        print("| self: function (library) | % of thread |")
        print("|---|--:|")
        for sym, k in self_sym[tid].most_common(top):
            print("| `%s` | %.1f |" % (sym.replace("|", "\\|"), 100.0 * k / n))
        print()
        print("| what the time serves (inclusive) | % of thread |")
        print("|---|--:|")
        for what, k in served[tid].most_common():
            print("| %s | %.1f |" % (what, 100.0 * k / n))
        print()
        print("| where: binary or library | % of thread |")
        print("|---|--:|")
        for dso, k in by_dso[tid].most_common(8):
            print("| %s | %.1f |" % (dso, 100.0 * k / n))
        print()
        # Frame pointers are missing in the libraries and the kernel, so
        # a caller in the program is often not found: shown only when it
        # is for most samples.
        known = n - caller[tid]["(no %s frame)" % binary]
        if known >= n / 2:
            print("| nearest %s function on the stack | %% of thread |"
                  % binary)
            print("|---|--:|")
            for sym, k in caller[tid].most_common(top):
                print("| `%s` | %.1f |" % (sym, 100.0 * k / n))
            print()


if __name__ == "__main__":
    main()

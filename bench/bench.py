#!/usr/bin/env python3
"""Benchmark: packets per second of `flowaudit read` against the ceiling.

Generates a workload with ../shared/bench/genpcap.py (cached in the scratch
folder), then runs, side by side in one run and in alternation so that a
noisy machine slows every contender alike:

  pcap_loop   a bare libpcap read loop (the ceiling)
  tcpdump     tcpdump -r FILE -w /dev/null
  no-names    flowaudit read --no-names FILE into a fresh database
  flowaudit   flowaudit read FILE into a fresh database (naming streams)

and prints the median packets per second of each, its ratio to the ceiling
(the median of the ratios of each round, against the loop run in the same
round), the flows it stored per second, its peak resident memory, and what
naming costs (flowaudit against no-names).  It is a measurement, not a test: it never
fails on a slow figure.

The flood workload is a spoofed SYN flood instead (tests/synflood.py: one
million SYNs, each from its own source address, so each is a flow), read
with a small flow table and with the default one:

  pcap_loop   the ceiling, as above
  mf-10000    flowaudit read --max-flows 10000: all but the last 10,000
              flows are evicted, so every SYN makes a flow and a write
  mf-default  flowaudit read with the default --max-flows (1,000,000):
              the whole flood stays in memory until the end

Its packets per second are SYNs, and flows, per second.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd):
    """Runs cmd under GNU time; returns (wall seconds, peak RSS in MiB).

    The peak comes from GNU time, not from this process's wait4(): a child
    forked from Python would report Python's own memory as its peak."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", rss.name, "-f", "%M"] + cmd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
        return wall, int(rss.read().split()[-1]) / 1024.0


def count_packets(loop, pcap):
    out = subprocess.run([loop, pcap], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="medium", choices=["small", "medium", "large", "flood"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder")
    ap.add_argument("--scratch", default="/tmp/flowaudit-bench", help="where captures and databases go")
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"), help="the shared folder")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--extra", default="", help="extra options for flowaudit read")
    args = ap.parse_args()

    os.makedirs(args.scratch, exist_ok=True)
    pcap = os.path.join(args.scratch, f"{args.preset}.pcap")
    gen = os.path.join(args.shared, "bench", "genpcap.py")
    if args.preset == "flood" and not os.path.exists(pcap):
        print(f"generating {pcap} ...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "synflood.py"), "-o", pcap],
                       check=True)
    if not os.path.exists(pcap):
        if not os.path.exists(gen):
            sys.exit(f"bench: no workload generator at {gen}")
        print(f"generating {pcap} ...", file=sys.stderr)
        subprocess.run([sys.executable, gen, "--preset", args.preset, "--out", pcap, "-q"], check=True)

    loop = os.path.join(args.build, "pcap_loop")
    flowaudit = os.path.join(args.build, "flowaudit")
    db = os.path.join(args.scratch, "bench.db")
    packets = count_packets(loop, pcap)
    # Warm the page cache so the first contender is not the one that pays for the disk.
    count_packets(loop, pcap)

    def fresh_db():
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(db + suffix)
            except FileNotFoundError:
                pass

    def flowaudit_read(*opts):
        return lambda: [flowaudit, "read", "-q", "--db", db] + list(opts) + args.extra.split() + [pcap]

    contenders = [
        ("pcap_loop", lambda: [loop, pcap]),
        ("tcpdump", lambda: ["tcpdump", "-r", pcap, "-w", "/dev/null"]),
        ("no-names", flowaudit_read("--no-names")),
        ("flowaudit", flowaudit_read()),
    ]
    if args.preset == "flood":
        contenders = [
            ("pcap_loop", lambda: [loop, pcap]),
            ("mf-10000", flowaudit_read("--max-flows", "10000")),
            ("mf-default", flowaudit_read()),
        ]
    results = {name: [] for name, _ in contenders}
    for _ in range(args.rounds):
        for name, cmd in contenders:
            fresh_db()
            results[name].append(run(cmd()))

    flows = ""
    if os.path.exists(db):
        import sqlite3

        con = sqlite3.connect(db)
        flows = con.execute("select count(*) from flows").fetchone()[0]
        con.close()

    # A contender's share of the ceiling is taken round by round, against
    # the loop run beside it, so that a slow spell of the machine weighs on
    # both sides of the ratio.
    loop_walls = [w for w, _ in results["pcap_loop"]]
    print(f"workload: {args.preset}, {packets} packets, {os.path.getsize(pcap) / 1e6:.0f} MB; "
          f"median of {args.rounds} rounds; flows stored: {flows}")
    print(f"{'contender':<10} {'seconds':>8} {'packets/s':>12} {'of ceiling':>10} {'flows/s':>10} "
          f"{'peak MiB':>9}")
    for name, _ in contenders:
        walls = [w for w, _ in results[name]]
        wall = statistics.median(walls)
        share = statistics.median(c / w for c, w in zip(loop_walls, walls))
        rss = max(r for _, r in results[name])
        rate = f"{flows / wall:10,.0f}" if flows and name not in ("pcap_loop", "tcpdump") else f"{'':>10}"
        print(f"{name:<10} {wall:8.2f} {packets / wall:12,.0f} {share:10.0%} {rate} {rss:9.1f}")
    if args.preset == "flood":
        small = statistics.median(w for w, _ in results["mf-10000"])
        full = statistics.median(w for w, _ in results["mf-default"])
        print(f"a full table of 1,000,000 flows reads at {small / full:.0%} of the rate of "
              f"one of 10,000 (mf-default against mf-10000)")
        return
    named = statistics.median(w for w, _ in results["flowaudit"])
    bare = statistics.median(w for w, _ in results["no-names"])
    print(f"naming costs {named / bare - 1:+.0%} (flowaudit against no-names)")


if __name__ == "__main__":
    main()

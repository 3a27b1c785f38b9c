#!/bin/bash
# flood.sh FLOWAUDIT [asan]: a spoofed SYN flood (tests/synflood.py, every
# SYN from its own source, 10 % of them IPv6) is read within the memory
# bound --max-flows sets, and its evictions are recorded and reported.
#
# For each setting (--max-flows 10000 naming streams, --max-flows 100000
# with --no-names) it checks:
#   - the run succeeds and says, once, on stderr, that flows were evicted
#     (with -q: the warning is about the data, not progress);
#   - runs.evicted is every flow but the last max-flows, and the flows table
#     holds all of them: one per SYN, the evicted ones S0 with end_reason
#     evicted, the rest S0 with capture-end;
#   - the peak resident memory (GNU time's %M) is within the bound the
#     README documents: B0 + max-flows x 480 bytes, B0 being 64 MiB when
#     streams are named and 28 MiB with --no-names.
# The flood is 1,000,000 SYNs at 1,000,000 a second of capture time, all
# within the attempt timeout, so none ends by timing out.  A third read
# takes 200,000 SYNs sent as first fragments never completed, to 100,000
# servers, with --max-flows 10000: reassembly, which queues fragments per
# destination, must stay within the same bound.
#
# With "asan" (the AddressSanitizer build) peak memory is the sanitizer's,
# not flowaudit's: the flood is smaller and the memory bound is not checked.
# Needs python3, sqlite3 and GNU time; exits 77 without them.  No timing is
# asserted.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 FLOWAUDIT [asan]" >&2
    exit 2
fi
bin=$1
asan=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

need_tools python3 sqlite3
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The documented bound (README, "Memory"), in KiB as GNU time reports.
B0_NAMES_MIB=64
B0_NO_NAMES_MIB=28
PER_FLOW_BYTES=480
bound_kib() { # MAX_FLOWS NAMES(1|0)
    local b0=$B0_NAMES_MIB
    [ "$2" = 1 ] || b0=$B0_NO_NAMES_MIB
    echo $(((b0 * 1048576 + $1 * PER_FLOW_BYTES) / 1024))
}

if [ "$asan" = asan ]; then
    syns=20000 frag_syns=5000
    settings=("1000 1" "5000 0")
    echo "AddressSanitizer build: $syns SYNs, correctness only; the memory bound is not checked"
else
    syns=1000000 frag_syns=200000
    settings=("10000 1" "100000 0")
fi

# read_flood PCAP SYNS MAX_FLOWS NAMES(1|0) WHAT
read_flood() {
    local pcap=$1 n=$2 mf=$3 names=$4 what=$5
    local db=$tmp/flood.db evicted=$(($2 - $3)) opts=(--max-flows "$3") peak bound
    [ "$names" = 1 ] || opts+=(--no-names)
    rm -f "$db" "$db-wal" "$db-shm"
    /usr/bin/time -o "$tmp/rss" -f %M "$bin" read -q --db "$db" "${opts[@]}" "$pcap" 2>"$tmp/err"
    check_eq "$what: exit status" 0 "$?"
    check_eq "$what: stderr" \
        "flowaudit: $evicted flows were written early because the flow table was full (--max-flows $mf); raise --max-flows to keep them whole" \
        "$(cat "$tmp/err")"
    check_eq "$what: runs.flows, runs.evicted, runs.packets" "$n|$evicted|$n" \
        "$(sql "$db" 'SELECT flows, evicted, packets FROM runs')"
    check_eq "$what: flows by end_reason, conn_state, history" \
        "capture-end|S0|S|$mf"$'\n'"evicted|S0|S|$evicted" \
        "$(sql "$db" 'SELECT end_reason, conn_state, history, count(*) FROM flows
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3')"
    peak=$(tail -n 1 "$tmp/rss")
    if [ "$asan" = asan ]; then
        echo "$what: peak $peak KiB (AddressSanitizer: not checked)"
    else
        bound=$(bound_kib "$mf" "$names")
        echo "$what: peak $peak KiB, bound $bound KiB"
        [ "$peak" -le "$bound" ] 2>/dev/null || fail "$what: peak $peak KiB is over the bound $bound KiB"
    fi
}

gen() { # OUT ARGS...
    local out=$1
    shift
    python3 "$here/synflood.py" -o "$out" "$@" || {
        echo "FAIL: synflood.py $*"
        exit 1
    }
}

gen "$tmp/flood.pcap" -n "$syns" --ipv6-share 0.1
for setting in "${settings[@]}"; do
    read -r mf names <<<"$setting"
    read_flood "$tmp/flood.pcap" "$syns" "$mf" "$names" \
        "--max-flows $mf$([ "$names" = 1 ] || echo ' --no-names')"
done
rm -f "$tmp/flood.pcap"

gen "$tmp/frag.pcap" -n "$frag_syns" --fragment --servers $((frag_syns / 2))
read_flood "$tmp/frag.pcap" "$frag_syns" $((frag_syns / 20)) 1 \
    "fragmented SYNs to $((frag_syns / 2)) servers, --max-flows $((frag_syns / 20))"

finish flood

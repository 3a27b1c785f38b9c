#!/bin/bash
# End-to-end tests of the flowaudit binary on the captures of samples/.
#
#   e2e.sh FLOWAUDIT SAMPLE   read samples/SAMPLE into a fresh database; the
#                             flows (csv) and the run's counters must equal
#                             tests/expected/STEM.csv and STEM.run exactly
#   e2e.sh FLOWAUDIT GROUP    one group of checks:
#     formats        healthy.pcap, .pcapng and -ns.pcap give byte-identical flows
#     multi          several files in one run; a capture on standard input
#     append         a second read appends run 2; --run selects it
#     checksums      --verify-checksums drops and counts bad checksums
#     filter         -f BPF: only matching packets, recorded in runs.filter;
#                    a bad expression is refused
#     errors         each refused command: status 2, one error line naming the
#                    culprit, and an existing database left untouched
#     export         Zeek conn.log (header, columns, whole file), JSON lines, -o
#     flows-filters  --state --host --port --proto --run; --format json
#     evict          --max-flows: evicted flows are written, not lost
#     cut            a capture cut short mid-record: read up to the cut, with
#                    a warning, status 0
#     dns            DNS answers: the names table, app_proto dns, dns_name
#                    from the answer seen before the flow began
#
# Needs bash, coreutils, sqlite3 and python3.  Exits 1 after printing every
# check that failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 2 ]; then
    echo "usage: $0 FLOWAUDIT SAMPLE|GROUP" >&2
    exit 2
fi
bin=$1
what=$2
top=$(cd "$(dirname "$0")/.." && pwd)
samples=$top/samples
expected=$top/tests/expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- helpers

# check_same WHAT EXPECTED_FILE ACTUAL_FILE: byte for byte, diff on failure.
check_same() {
    if ! cmp -s "$2" "$3"; then
        fail "$1 differs from $(basename "$2") (- expected, + got):"
        diff -u "$2" "$3" | sed -n '3,60p' | cat -A | sed 's/^/    /'
    fi
}

# fa and expect_error come from lib.sh.

# fa_ok ARGS...: the command must succeed and say nothing on stderr.
fa_ok() {
    fa "$@"
    if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
        fail "flowaudit $* (status $rc): $(cat "$tmp/err")"
        return 1
    fi
}

# read_ok DB ARGS...: `flowaudit read -q --db DB ARGS...` must succeed.
read_ok() {
    local db=$1
    shift
    fa_ok read -q --db "$db" "$@"
}

# flows_csv DB [ARGS...]: the flows as csv into $tmp/out.
flows_csv() {
    local db=$1
    shift
    fa_ok flows --db "$db" --format csv "$@"
}

# run_summary DB RUN_ID: the run's counters, one per line, as in tests/expected/*.run.
run_summary() {
    sql "$1" "
        SELECT 'mode=' || mode FROM runs WHERE id = $2;
        SELECT 'filter=' || ifnull(filter, '(none)') FROM runs WHERE id = $2;
        SELECT 'packets=' || packets FROM runs WHERE id = $2;
        SELECT 'bytes=' || bytes FROM runs WHERE id = $2;
        SELECT 'first_packet=' || printf('%.6f', first_packet) FROM runs WHERE id = $2;
        SELECT 'last_packet=' || printf('%.6f', last_packet) FROM runs WHERE id = $2;
        SELECT 'received=' || ifnull(received, '(none)') FROM runs WHERE id = $2;
        SELECT 'dropped=' || ifnull(dropped, '(none)') FROM runs WHERE id = $2;
        SELECT 'if_dropped=' || ifnull(if_dropped, '(none)') FROM runs WHERE id = $2;
        SELECT 'flows=' || flows FROM runs WHERE id = $2;
        SELECT 'evicted=' || evicted FROM runs WHERE id = $2;
        SELECT 'orphan_fragments=' || orphan_fragments FROM runs WHERE id = $2;
        SELECT 'decode_error ' || reason || '=' || count FROM decode_errors
            WHERE run_id = $2 ORDER BY reason;"
}

# check_run DB RUN_ID SOURCE EXPECTED_RUN_FILE: counters, and what every
# finished run must hold.
check_run() {
    local db=$1 run=$2 source=$3 want=$4
    run_summary "$db" "$run" >"$tmp/run"
    check_same "run $run of $(basename "$db")" "$want" "$tmp/run"
    check_eq "run $run: source" "$source" "$(sql "$db" "SELECT source FROM runs WHERE id = $run")"
    check_eq "run $run: version" "$("$bin" --version | cut -d' ' -f2)" \
        "$(sql "$db" "SELECT version FROM runs WHERE id = $run")"
    check_eq "run $run: ended is set" 1 \
        "$(sql "$db" "SELECT ended IS NOT NULL AND ended >= started FROM runs WHERE id = $run")"
    check_eq "run $run: runs.flows = rows in flows" \
        "$(sql "$db" "SELECT flows FROM runs WHERE id = $run")" \
        "$(sql "$db" "SELECT count(*) FROM flows WHERE run_id = $run")"
}

# csv_rows FILE N...: the header and data rows N... (1 = first flow) of a csv.
csv_rows() {
    local file=$1
    shift
    awk -v rows=" $* " 'NR == 1 || index(rows, " " (NR - 1) " ")' "$file"
}

# csv_cut FILE CUT_FIELDS: the named columns (cut -f syntax) of a csv
# (the samples' csv has no quoted cells).
csv_cut() {
    cut -d, -f"$2" "$1"
}

# csv_column FILE N: the values of column N, without the header and CR.
csv_column() {
    tail -n +2 "$1" | tr -d '\r' | cut -d, -f"$2"
}

# The expected files of a sample: the three healthy captures share one.
stem() {
    case $1 in
    healthy.pcap | healthy.pcapng | healthy-ns.pcap) echo healthy ;;
    *) echo "${1%.pcap}" ;;
    esac
}

# record_offset FILE N: the byte offset of record N (1 = first) of a classic
# pcap file; N past the last record gives the file's size.
record_offset() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, n = 24, 1
while off < len(data) and n < int(sys.argv[2]):
    off += 16 + struct.unpack(order + "I", data[off + 8:off + 12])[0]
    n += 1
print(off)
EOF
}

# db_snapshot DB: everything the database holds, to tell it was not touched.
db_snapshot() {
    { sql "$1" 'PRAGMA user_version' && sql "$1" .dump; } 2>&1
}

# ---------------------------------------------------------------- one sample

test_sample() {
    local file=$1 db=$tmp/x.db
    [ -f "$samples/$file" ] || { fail "no sample $samples/$file"; return; }
    read_ok "$db" "$samples/$file" || return
    flows_csv "$db" || return
    check_same "flows of $file" "$expected/$(stem "$file").csv" "$tmp/out"
    check_eq "$file: flows listed = rows stored" "$(sql "$db" 'SELECT count(*) FROM flows')" \
        "$(($(wc -l <"$tmp/out") - 1))"
    check_eq "$file: runs" 1 "$(sql "$db" 'SELECT count(*) FROM runs')"
    check_run "$db" 1 "$samples/$file" "$expected/$(stem "$file").run"
}

# ---------------------------------------------------------------- groups

# The microsecond pcap, the nanosecond pcap and the pcapng hold the same
# packets: flows, run counters and the conn.log are byte-identical.
test_formats() {
    local f
    for f in healthy.pcap healthy.pcapng healthy-ns.pcap; do
        read_ok "$tmp/$f.db" "$samples/$f" || return
        flows_csv "$tmp/$f.db" && cp "$tmp/out" "$tmp/$f.csv"
        run_summary "$tmp/$f.db" 1 >"$tmp/$f.run"
        fa_ok export --db "$tmp/$f.db" --format zeek && cp "$tmp/out" "$tmp/$f.log"
    done
    for f in healthy.pcapng healthy-ns.pcap; do
        check_same "flows of $f" "$tmp/healthy.pcap.csv" "$tmp/$f.csv"
        check_same "run of $f" "$tmp/healthy.pcap.run" "$tmp/$f.run"
        check_same "conn.log of $f" "$tmp/healthy.pcap.log" "$tmp/$f.log"
    done
}

# Files named together are one capture: one run with the flows of each,
# each flow exactly as its own file gives it (times included: both files
# start at 08:30:00, and records keep the packets' own timestamps) but for
# dns_name, since the answers of one file name the flows of the other; a
# capture on standard input is read like the file.
test_multi() {
    local db=$tmp/multi.db
    read_ok "$db" "$samples/healthy.pcap" "$samples/db-blocked.pcap" || return
    check_eq "two files: runs" 1 "$(sql "$db" 'SELECT count(*) FROM runs')"
    check_eq "two files: source" "$samples/healthy.pcap $samples/db-blocked.pcap" \
        "$(sql "$db" 'SELECT source FROM runs')"
    check_eq "two files: packets, flows" "87|11" "$(sql "$db" 'SELECT packets, flows FROM runs')"
    check_eq "two files: rows" 11 "$(sql "$db" 'SELECT count(*) FROM flows WHERE run_id = 1')"
    flows_csv "$db" || return
    # Everything but uid, run_id and seq, which depend on the run, and
    # dns_name (column 33).
    csv_cut "$tmp/out" 4-32 | tail -n +2 | sort >"$tmp/got"
    {
        csv_cut "$expected/healthy.csv" 4-32 | tail -n +2
        csv_cut "$expected/db-blocked.csv" 4-32 | tail -n +2
    } | sort >"$tmp/want"
    check_same "flows of healthy.pcap + db-blocked.pcap" "$tmp/want" "$tmp/got"
    # In one capture healthy.pcap's answer (08:30:00.0004) names
    # db-blocked.pcap's attempt on 192.0.2.30 at 08:30:00.15 too, but not
    # the one at 08:30:00.0, which began before it.
    check_eq "two files: dns_name of the flows to 192.0.2.30" \
        "0.000000:- 0.010000:sqlprod.example.com 0.150000:sqlprod.example.com" \
        "$(sql "$db" "SELECT group_concat(f, ' ') FROM (SELECT printf('%.6f', first_seen - 1715675400)
                      || ':' || ifnull(dns_name, '-') AS f FROM flows
                      WHERE resp_h = '192.0.2.30' ORDER BY first_seen)")"
    check_eq "two files: other flows have no dns_name" 0 \
        "$(sql "$db" "SELECT count(*) FROM flows WHERE resp_h != '192.0.2.30'
                      AND dns_name IS NOT NULL")"
    check_eq "two files: seq" "$(seq 1 11 | tr '\n' ' ')" \
        "$(csv_column "$tmp/out" 3 | sort -n | tr '\n' ' ')"

    local f
    for f in healthy.pcap healthy.pcapng; do
        db=$tmp/stdin-$f.db
        # A pipe, not a redirected file: standard input cannot seek.
        # shellcheck disable=SC2002
        cat "$samples/$f" | "$bin" read -q --db "$db" - 2>"$tmp/err"
        rc=${PIPESTATUS[1]}
        if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
            fail "cat $f | flowaudit read - (status $rc): $(cat "$tmp/err")"
            continue
        fi
        flows_csv "$db" || continue
        check_same "flows of $f on standard input" "$expected/healthy.csv" "$tmp/out"
        check_run "$db" 1 - "$expected/healthy.run"
    done

    # Standard input between files: kept open from the check to its turn.
    db=$tmp/stdin-between.db
    # shellcheck disable=SC2002
    cat "$samples/db-blocked.pcap" |
        "$bin" read -q --db "$db" "$samples/healthy.pcap" - "$samples/closed-port.pcap" 2>"$tmp/err"
    rc=${PIPESTATUS[1]}
    check_eq "file - file: status and stderr" "0 " "$rc $(cat "$tmp/err")"
    check_eq "file - file: packets" $((71 + 16 + 4)) "$(sql "$db" 'SELECT packets FROM runs')"

    # Files are read one at a time: more files than descriptors allowed.
    local many=()
    for f in $(seq 1 64); do many+=("$samples/healthy.pcap"); done
    db=$tmp/many.db
    (
        ulimit -n 24
        "$bin" read -q --db "$db" "${many[@]}"
    ) >/dev/null 2>"$tmp/err"
    rc=$?
    check_eq "64 files under ulimit -n 24: status and stderr" "0 " "$rc $(cat "$tmp/err")"
    check_eq "64 files: packets" $((64 * 71)) "$(sql "$db" 'SELECT packets FROM runs')"

    # first_packet is the earliest packet, not the first one read: late.pcap
    # holds healthy.pcap's packets from the 36th (08:30:01.034390) on.
    local from
    from=$(record_offset "$samples/healthy.pcap" 36)
    { head -c 24 "$samples/healthy.pcap" && tail -c +$((from + 1)) "$samples/healthy.pcap"; } >"$tmp/late.pcap"
    db=$tmp/overlap.db
    read_ok "$db" "$tmp/late.pcap" "$samples/healthy.pcap" || return
    check_eq "late.pcap then healthy.pcap: first_packet, last_packet" \
        "1715675400.000000|1715675402.500180" \
        "$(sql "$db" "SELECT printf('%.6f', first_packet), printf('%.6f', last_packet) FROM runs")"
}

# A second read appends run 2, whose flows carry run_id 2; --run selects a run.
test_append() {
    local db=$tmp/two.db
    read_ok "$db" "$samples/healthy.pcap" || return
    read_ok "$db" "$samples/db-blocked.pcap" || return
    check_eq "runs after two reads" "1 2" "$(sql "$db" 'SELECT group_concat(id, " ") FROM runs')"
    check_eq "flows per run" "1:8 2:3" "$(sql "$db" \
        "SELECT group_concat(r, ' ') FROM (SELECT run_id || ':' || count(*) AS r
         FROM flows GROUP BY run_id ORDER BY run_id)")"
    check_run "$db" 1 "$samples/healthy.pcap" "$expected/healthy.run"
    check_run "$db" 2 "$samples/db-blocked.pcap" "$expected/db-blocked.run"
    check_eq "uids are distinct across runs" 11 "$(sql "$db" 'SELECT count(DISTINCT uid) FROM flows')"

    flows_csv "$db" --run 1 || return
    check_same "flows --run 1" "$expected/healthy.csv" "$tmp/out"
    flows_csv "$db" --run 2 || return
    cp "$tmp/out" "$tmp/run2.csv"
    csv_cut "$tmp/run2.csv" 3- >"$tmp/got"
    csv_cut "$expected/db-blocked.csv" 3- >"$tmp/want"
    check_same "flows --run 2 (columns after run_id)" "$tmp/want" "$tmp/got"
    check_eq "flows --run 2: run_id" "2 2 2" "$(csv_column "$tmp/run2.csv" 2 | tr '\n' ' ' | sed 's/ $//')"
    flows_csv "$db" || return
    check_eq "flows without --run lists both runs" 12 "$(wc -l <"$tmp/out")"
    flows_csv "$db" --run 3 || return
    check_eq "flows --run 3 (no such run)" 1 "$(wc -l <"$tmp/out")"
}

# checksum.pcap has a bad TCP checksum (frame 4) and a bad UDP one (frame 12).
test_checksums() {
    local db=$tmp/verified.db
    read_ok "$db" --verify-checksums "$samples/checksum.pcap" || return
    flows_csv "$db" || return
    check_same "flows of checksum.pcap with --verify-checksums" \
        "$expected/checksum-verified.csv" "$tmp/out"
    check_run "$db" 1 "$samples/checksum.pcap" "$expected/checksum-verified.run"
    check_eq "decode_errors with --verify-checksums" "bad-checksum|2" \
        "$(sql "$db" 'SELECT reason, count FROM decode_errors')"

    db=$tmp/unverified.db
    read_ok "$db" "$samples/checksum.pcap" || return
    check_eq "decode_errors without --verify-checksums" "" \
        "$(sql "$db" 'SELECT reason, count FROM decode_errors')"
    flows_csv "$db" || return
    check_same "flows of checksum.pcap without --verify-checksums" \
        "$expected/checksum.csv" "$tmp/out"
}

test_filter() {
    local db=$tmp/filtered.db
    read_ok "$db" -f 'tcp port 1433' "$samples/healthy.pcap" || return
    flows_csv "$db" || return
    check_same "flows of healthy.pcap with -f 'tcp port 1433'" \
        "$expected/healthy-port1433.csv" "$tmp/out"
    check_run "$db" 1 "$samples/healthy.pcap" "$expected/healthy-port1433.run"
    check_eq "runs.filter" "tcp port 1433" "$(sql "$db" 'SELECT filter FROM runs')"

    read_ok "$tmp/long.db" --filter 'icmp' "$samples/healthy.pcap" || return
    check_eq "--filter icmp: flows" "1|icmp" "$(sql "$tmp/long.db" 'SELECT count(*), filter FROM flows, runs')"

    local before
    before=$(db_snapshot "$db")
    expect_error "tcp port nonsense" -- read -q --db "$db" -f 'tcp port nonsense' "$samples/healthy.pcap"
    check_eq "database after a bad filter" "$before" "$(db_snapshot "$db")"
    expect_error "tcp port nonsense" -- read -q --db "$tmp/new.db" -f 'tcp port nonsense' "$samples/healthy.pcap"
    [ -e "$tmp/new.db" ] && fail "a bad filter left a database behind: $tmp/new.db"
}

test_errors() {
    local db=$tmp/base.db before
    # Captures that cannot be read; no database is left behind.
    expect_error not-a-capture.pcap -- read -q --db "$tmp/e1.db" "$samples/not-a-capture.pcap"
    [ -e "$tmp/e1.db" ] && fail "refused read created $tmp/e1.db"
    expect_error "$tmp/missing.pcap" -- read -q --db "$tmp/e2.db" "$tmp/missing.pcap"
    [ -e "$tmp/e2.db" ] && fail "refused read created $tmp/e2.db"

    # An existing database is left exactly as it was by a refused read.
    read_ok "$db" "$samples/healthy.pcap" || return
    before=$(db_snapshot "$db")
    expect_error "$tmp/missing.pcap" -- read -q --db "$db" "$tmp/missing.pcap"
    expect_error "$tmp/missing.pcap" -- read -q --db "$db" "$samples/db-blocked.pcap" "$tmp/missing.pcap"
    expect_error not-a-capture.pcap -- read -q --db "$db" "$samples/not-a-capture.pcap"
    expect_error --max-flows -- read -q --db "$db" --max-flows 0 "$samples/healthy.pcap"
    check_eq "runs after refused reads" 1 "$(sql "$db" 'SELECT count(*) FROM runs')"
    check_eq "database after refused reads" "$before" "$(db_snapshot "$db")"

    # Standard input can be read once; a second '-' is refused before
    # anything is read or written.
    expect_error "standard input" -- read -q --db "$db" - "$samples/healthy.pcap" - </dev/null
    # Standard input (a pipe) that is not a capture is refused like a file,
    # and so is a bad file after standard input, before a run begins.
    expect_error "standard input" -- read -q --db "$db" - < <(cat "$samples/not-a-capture.pcap")
    expect_error not-a-capture.pcap -- read -q --db "$db" - "$samples/not-a-capture.pcap" \
        < <(cat "$samples/healthy.pcap")
    check_eq "runs after refused reads of standard input" 1 "$(sql "$db" 'SELECT count(*) FROM runs')"
    check_eq "database after refused reads of standard input" "$before" "$(db_snapshot "$db")"

    # A file that is not SQLite is refused and left alone.
    printf 'this is not a database\n' >"$tmp/text.db"
    expect_error text.db -- read -q --db "$tmp/text.db" "$samples/healthy.pcap"
    expect_error text.db -- flows --db "$tmp/text.db"
    expect_error text.db -- export --db "$tmp/text.db" --format zeek
    check_eq "text.db after refused commands" "this is not a database" "$(cat "$tmp/text.db")"

    # A database from a newer flowaudit is refused.
    read_ok "$tmp/newer.db" "$samples/healthy.pcap" || return
    sql "$tmp/newer.db" 'PRAGMA user_version = 99'
    before=$(db_snapshot "$tmp/newer.db")
    expect_error newer.db newer -- read -q --db "$tmp/newer.db" "$samples/db-blocked.pcap"
    expect_error newer.db newer -- flows --db "$tmp/newer.db"
    expect_error newer.db newer -- export --db "$tmp/newer.db" --format jsonl
    check_eq "newer database after refused commands" "$before" "$(db_snapshot "$tmp/newer.db")"

    # Usage.
    expect_error "'frobnicate'" -- frobnicate
    expect_error "capture file" -- read -q --db "$tmp/e3.db"
    [ -e "$tmp/e3.db" ] && fail "read without a file created $tmp/e3.db"
    expect_error --format zeek -- flows --db "$db" --format zeek
    expect_error --format -- export --db "$db"
    expect_error "$tmp/nowhere.db" -- flows --db "$tmp/nowhere.db"
    [ -e "$tmp/nowhere.db" ] && fail "flows created the database it was asked to list: $tmp/nowhere.db"
    expect_error "$tmp/nowhere.db" -- export --db "$tmp/nowhere.db" --format zeek
    [ -e "$tmp/nowhere.db" ] && fail "export created the database it was asked to list: $tmp/nowhere.db"
    expect_error "$tmp/no/dir/conn.log" -- export --db "$db" --format zeek -o "$tmp/no/dir/conn.log"
}

zeek_fields="ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes
resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes
resp_pkts resp_ip_bytes"
zeek_types="time string addr port addr port enum string interval count count string bool bool
count string count count count count"

# tabs WORDS: the words joined by tabs.
tabs() {
    printf '%s' "$1" | tr -s ' \n' '\t'
}

test_export() {
    local db=$tmp/healthy.db log=$tmp/conn.log
    read_ok "$db" "$samples/healthy.pcap" || return
    fa_ok export --db "$db" --format zeek || return
    cp "$tmp/out" "$log"
    check_same "conn.log of healthy.pcap" "$expected/healthy.conn.log" "$log"

    # Zeek's header, line by line.
    printf '%s\n' '#separator \x09' "$(printf '#set_separator\t,')" \
        "$(printf '#empty_field\t(empty)')" "$(printf '#unset_field\t-')" \
        "$(printf '#path\tconn')" "$(printf '#open\t2024-05-14-08-30-00')" \
        "#fields	$(tabs "$zeek_fields")" "#types	$(tabs "$zeek_types")" >"$tmp/want"
    head -n 8 "$log" >"$tmp/got"
    check_same "conn.log header" "$tmp/want" "$tmp/got"
    check_eq "conn.log last line" "$(printf '#close\t2024-05-14-08-30-02')" "$(tail -n 1 "$log")"
    check_eq "conn.log: rows" 8 "$(grep -vc '^#' "$log")"
    check_eq "conn.log: rows with 20 columns" 8 "$(grep -v '^#' "$log" | awk -F'\t' 'NF == 20' | wc -l)"
    check_eq "conn.log: comment lines" 9 "$(grep -c '^#' "$log")"

    # -o FILE: the same log, nothing on stdout.
    fa_ok export --db "$db" --format zeek -o "$tmp/o.log" || return
    check_eq "export -o: stdout" "" "$(cat "$tmp/out")"
    check_same "export -o FILE" "$log" "$tmp/o.log"

    # JSON lines: one object per flow, Zeek's names in Zeek's order, the
    # same values as the conn.log; an unset field is left out.
    fa_ok export --db "$db" --format jsonl -o "$tmp/conn.jsonl" || return
    check_eq "export --format jsonl -o: stdout" "" "$(cat "$tmp/out")"
    python3 - "$log" "$tmp/conn.jsonl" <<'EOF' || fail "JSON lines do not match the conn.log"
import json, sys
tsv = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")]
fields = next(l for l in open(sys.argv[1]) if l.startswith("#fields")).split()[1:]
lines = open(sys.argv[2]).read().splitlines()
ok = len(lines) == len(tsv)
if not ok:
    print("    %d JSON lines for %d conn.log rows" % (len(lines), len(tsv)))
for n, (line, row) in enumerate(zip(lines, tsv), 1):
    try:
        obj = json.loads(line, parse_float=str)
    except ValueError as e:
        print("    line %d is not JSON: %s" % (n, e)); ok = False; continue
    if not isinstance(obj, dict):
        print("    line %d is not an object" % n); ok = False; continue
    keys = list(obj)
    if keys != [f for f in fields if f in obj]:
        print("    line %d: keys %s are not conn.log fields in order" % (n, keys)); ok = False
    for f, cell in zip(fields, row):
        got = obj.get(f)
        want = None if cell == "-" else cell
        if (str(got) if got is not None else None) != want:
            print("    line %d: %s is %r, conn.log has %r" % (n, f, got, cell)); ok = False
sys.exit(0 if ok else 1)
EOF
    fa_ok export --db "$db" --format jsonl || return
    check_same "export --format jsonl on stdout" "$tmp/conn.jsonl" "$tmp/out"
}

# check_json_matches_csv DB [ARGS...]: flows --format json is a list with one
# object per csv row, holding the same values.
check_json_matches_csv() {
    local db=$1
    shift
    flows_csv "$db" "$@" || return
    cp "$tmp/out" "$tmp/j.csv"
    fa_ok flows --db "$db" --format json "$@" || return
    python3 - "$tmp/j.csv" "$tmp/out" <<'EOF' || fail "flows --format json${*:+ $*} on $(basename "$db") does not match the csv"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
try:
    flows = json.load(open(sys.argv[2]), parse_float=str)
except ValueError as e:
    print("    not JSON: %s" % e); sys.exit(1)
if not isinstance(flows, list) or len(flows) != len(rows):
    print("    %s flows in JSON, %d in csv" % (len(flows) if isinstance(flows, list) else "no list of", len(rows)))
    sys.exit(1)
icmp = {"icmp_error_type": "type", "icmp_error_code": "code", "icmp_error_v6": "v6",
        "icmp_error_from": "from"}
ok = True
for n, (obj, row) in enumerate(zip(flows, rows), 1):
    # The csv's columns, in order, with the four icmp_error_* as one object.
    want_keys = [c for c in row if c not in icmp]
    want_keys.insert(want_keys.index("end_reason"), "icmp_error")
    if list(obj) != want_keys:
        print("    flow %d: keys %s" % (n, list(obj))); ok = False; continue
    for col, cell in row.items():
        if col in icmp:
            err = obj["icmp_error"]
            got = None if err is None else err[icmp[col]]
            if isinstance(got, bool):
                got = int(got)
        else:
            got = obj[col]
        got = "" if got is None else str(got)
        if got != cell:
            print("    flow %d: %s is %r in JSON, %r in csv" % (n, col, got, cell)); ok = False
sys.exit(0 if ok else 1)
EOF
}

# filter_is DB STEM ROWS... -- ARGS...: `flows ARGS...` on DB lists exactly
# those rows of tests/expected/STEM.csv.
filter_is() {
    local db=$1 stem=$2 rows=()
    shift 2
    while [ "$1" != "--" ]; do
        rows+=("$1")
        shift
    done
    shift
    flows_csv "$db" "$@" || return
    csv_rows "$expected/$stem.csv" "${rows[@]}" >"$tmp/want"
    check_same "flows $* on $stem" "$tmp/want" "$tmp/out"
}

test_flows_filters() {
    local db=$tmp/blocked.db
    read_ok "$db" "$samples/db-blocked.pcap" || return
    flows_csv "$db" --state S0 || return
    csv_rows "$expected/db-blocked.csv" 1 2 >"$tmp/want"
    check_same "flows --state S0 on db-blocked.pcap" "$tmp/want" "$tmp/out"
    flows_csv "$db" --state REJ || return
    csv_rows "$expected/db-blocked.csv" >"$tmp/want"
    check_same "flows --state REJ on db-blocked.pcap" "$tmp/want" "$tmp/out"

    db=$tmp/healthy.db
    read_ok "$db" "$samples/healthy.pcap" || return
    filter_is "$db" healthy 5 6 7 -- --host 192.0.2.20
    filter_is "$db" healthy 3 -- --host 203.0.113.50
    filter_is "$db" healthy 3 -- --port 443
    filter_is "$db" healthy 1 -- --port 61404
    filter_is "$db" healthy 1 -- --proto udp
    filter_is "$db" healthy 8 -- --proto icmp
    filter_is "$db" healthy 2 3 4 5 6 7 -- --proto tcp
    filter_is "$db" healthy 6 -- --host 192.0.2.10 --port 12001
    filter_is "$db" healthy 2 3 4 5 6 7 -- --state SF --proto 6
    filter_is "$db" healthy -- --state S0
    filter_is "$db" healthy -- --host 192.0.2.99
    check_json_matches_csv "$db"
    check_json_matches_csv "$db" --state S0

    db=$tmp/ipv6.db
    read_ok "$db" "$samples/ipv6.pcap" || return
    filter_is "$db" ipv6 3 6 -- --proto icmp
    filter_is "$db" ipv6 3 6 -- --proto icmp6
    filter_is "$db" ipv6 3 6 -- --proto 58
    filter_is "$db" ipv6 1 3 4 5 6 -- --host 2001:db8:0:1::10
    filter_is "$db" ipv6 1 3 4 5 6 -- --host 2001:DB8:0:1:0:0:0:10
    filter_is "$db" ipv6 2 -- --host ::1 --state REJ
    check_json_matches_csv "$db"

    db=$tmp/icmp.db
    read_ok "$db" "$samples/icmp-prohibited.pcap" || return
    filter_is "$db" icmp-prohibited 2 4 -- --proto icmp
    filter_is "$db" icmp-prohibited -- --proto icmp6
    filter_is "$db" icmp-prohibited 1 2 -- --host 198.51.100.7
    check_json_matches_csv "$db"

    expect_error --host bogus -- flows --db "$db" --host bogus
    expect_error --port 70000 -- flows --db "$db" --port 70000
    expect_error --proto xyz -- flows --db "$db" --proto xyz
    expect_error --run 0 -- flows --db "$db" --run 0
    expect_error --format yaml -- flows --db "$db" --format yaml
}

# Two flows fit in memory: each new flow of healthy.pcap evicts the idlest,
# which is written at once.  The sessions do not overlap, so every flow is
# whole when evicted: the same records as without the limit.
test_evict() {
    local db=$tmp/evict.db
    # The one warning is printed even with -q: the flows are recorded in pieces.
    fa read -q --db "$db" --max-flows 2 "$samples/healthy.pcap"
    check_eq "--max-flows 2: exit status" 0 "$rc"
    check_eq "--max-flows 2: the warning" \
        "flowaudit: 6 flows were written early because the flow table was full (--max-flows 2); raise --max-flows to keep them whole" \
        "$(cat "$tmp/err")"
    check_eq "--max-flows 2: runs.evicted, flows" "6|8" "$(sql "$db" 'SELECT evicted, flows FROM runs')"
    flows_csv "$db" || return
    csv_cut "$tmp/out" 1-28 >"$tmp/got"
    csv_cut "$expected/healthy.csv" 1-28 >"$tmp/want"
    check_same "--max-flows 2: flows but end_reason" "$tmp/want" "$tmp/got"
    check_eq "--max-flows 2: end_reason" \
        "evicted evicted evicted evicted evicted evicted capture-end capture-end" \
        "$(csv_column "$tmp/out" 29 | tr '\n' ' ' | sed 's/ $//')"
}

# A capture cut short in the middle of a record (its writer was killed) is
# read up to the cut: status 0, one warning naming the file, and the same
# flows and counters as the same packets cut cleanly at a record boundary.
test_cut() {
    local file=$samples/healthy.pcap cut=$tmp/cut.pcap clean=$tmp/clean.pcap at warning
    at=$(record_offset "$file" 36) # 35 whole records before it
    head -c "$at" "$file" >"$clean"
    head -c $((at + 16 + 20)) "$file" >"$cut" # its header and 20 bytes of its 60
    read_ok "$tmp/clean.db" "$clean" || return
    fa read -q --db "$tmp/cut.db" "$cut"
    check_eq "cut.pcap: exit status" 0 "$rc"
    check_eq "cut.pcap: stderr lines" 1 "$(grep -c '' "$tmp/err")"
    warning=$(cat "$tmp/err")
    [[ "$warning" == "flowaudit: $cut: "* ]] || fail "cut.pcap: warning does not name the file: $warning"
    [[ "$warning" == *truncated* ]] || fail "cut.pcap: warning does not say truncated: $warning"
    [[ "$warning" == *"kept its first 35 packets"* ]] ||
        fail "cut.pcap: warning does not say 35 packets were kept: $warning"

    flows_csv "$tmp/clean.db" && cp "$tmp/out" "$tmp/clean.csv"
    flows_csv "$tmp/cut.db" || return
    check_same "flows of cut.pcap" "$tmp/clean.csv" "$tmp/out"
    check_eq "cut.pcap: some flows, not all" 1 \
        "$(sql "$tmp/cut.db" 'SELECT count(*) BETWEEN 1 AND 7 FROM flows')"
    run_summary "$tmp/clean.db" 1 >"$tmp/clean.run"
    check_run "$tmp/cut.db" 1 "$cut" "$tmp/clean.run"
    check_eq "cut.pcap: packets" 35 "$(sql "$tmp/cut.db" 'SELECT packets FROM runs')"
}

# DNS answers over UDP: recorded in names, their flow named dns, and a
# flow named by the answer that gave its responder before it began.
test_dns() {
    local db=$tmp/healthy.db
    read_ok "$db" "$samples/healthy.pcap" || return
    check_eq "healthy.pcap: names" "sqlprod.example.com|192.0.2.30" \
        "$(sql "$db" 'SELECT name, address FROM names')"
    check_eq "healthy.pcap: names run and times" "1|1715675400.000400|1715675400.000400" \
        "$(sql "$db" "SELECT run_id, printf('%.6f', first_seen), printf('%.6f', last_seen)
                      FROM names")"
    check_eq "healthy.pcap: flows with a dns_name" "192.0.2.30|1433|tds|sqlprod.example.com" \
        "$(sql "$db" 'SELECT resp_h, resp_p, app_proto, dns_name FROM flows
                      WHERE dns_name IS NOT NULL')"
    check_eq "healthy.pcap: dns flows" "17|61404|53" \
        "$(sql "$db" "SELECT proto, orig_p, resp_p FROM flows WHERE app_proto = 'dns'")"
    fa_ok flows --db "$db" --port 1433 || return
    grep -q '  tds sqlprod.example.com  ' "$tmp/out" ||
        fail "flows table: the app column does not show the DNS name: $(tail -n 1 "$tmp/out")"

    # A second run has names of its own.
    read_ok "$db" "$samples/healthy.pcap" || return
    check_eq "two runs: names per run" "1:1 2:1" "$(sql "$db" \
        "SELECT group_concat(r, ' ') FROM (SELECT run_id || ':' || count(*) AS r
         FROM names GROUP BY run_id ORDER BY run_id)")"

    # IPv6: the AAAA answer (its packet has extension headers) names the
    # attempt on port 1433 that follows it.
    db=$tmp/ipv6.db
    read_ok "$db" "$samples/ipv6.pcap" || return
    check_eq "ipv6.pcap: names" "sqlprod.example.com|2001:db8:0:3::30" \
        "$(sql "$db" 'SELECT name, address FROM names')"
    check_eq "ipv6.pcap: flows with a dns_name" "1433|sqlprod.example.com" \
        "$(sql "$db" 'SELECT resp_p, dns_name FROM flows WHERE dns_name IS NOT NULL')"

    # An answer stamped after a flow began does not name it, though it is
    # read first: healthy.pcap with its query and answer moved 1 s later.
    python3 - "$samples/healthy.pcap" "$tmp/late-answer.pcap" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
off = 24
for _ in range(2):
    sec, = struct.unpack_from("<I", data, off)
    struct.pack_into("<I", data, off, sec + 1)
    off += 16 + struct.unpack_from("<I", data, off + 8)[0]
open(sys.argv[2], "wb").write(data)
PY
    db=$tmp/late-answer.db
    read_ok "$db" "$tmp/late-answer.pcap" || return
    check_eq "late answer: names" "sqlprod.example.com|192.0.2.30|1715675401.000400" \
        "$(sql "$db" "SELECT name, address, printf('%.6f', first_seen) FROM names")"
    check_eq "late answer: flows with a dns_name" 0 \
        "$(sql "$db" 'SELECT count(*) FROM flows WHERE dns_name IS NOT NULL')"

    # What is not read: a query without an answer (icmp-prohibited.pcap),
    # answers in IP fragments (fragments.pcap), DNS filtered out.
    local f
    for f in icmp-prohibited.pcap fragments.pcap; do
        db=$tmp/$f.db
        read_ok "$db" "$samples/$f" || continue
        check_eq "$f: names, dns flows, flows with a dns_name" "0|0|0" \
            "$(sql "$db" "SELECT (SELECT count(*) FROM names),
                          (SELECT count(*) FROM flows WHERE app_proto = 'dns'),
                          (SELECT count(*) FROM flows WHERE dns_name IS NOT NULL)")"
    done
    db=$tmp/filtered.db
    read_ok "$db" -f 'tcp port 1433' "$samples/healthy.pcap" || return
    check_eq "-f 'tcp port 1433': names, flows with a dns_name" "0|0" \
        "$(sql "$db" "SELECT (SELECT count(*) FROM names),
                      (SELECT count(*) FROM flows WHERE dns_name IS NOT NULL)")"

    # --no-names stops stream reassembly, not the reading of DNS answers.
    db=$tmp/no-names.db
    read_ok "$db" --no-names "$samples/healthy.pcap" || return
    check_eq "--no-names: names" "sqlprod.example.com|192.0.2.30" \
        "$(sql "$db" 'SELECT name, address FROM names')"
    check_eq "--no-names: the 1433 flow's app_proto and dns_name" "|sqlprod.example.com" \
        "$(sql "$db" 'SELECT app_proto, dns_name FROM flows WHERE resp_p = 1433')"
}

# --name-bytes bounds what naming reads: with 16 bytes a ClientHello is
# known for TLS but its name is beyond reach, an HTTP request for HTTP but
# not its Host, and TDS's PRELOGIN not at all; with the default all three.
test_name_bytes() {
    local db=$tmp/nb.db
    read_ok "$db" --name-bytes 16 "$samples/healthy.pcap" || return
    check_eq "16 bytes: 443" "tls|" \
        "$(sql "$db" "SELECT app_proto, ifnull(server_name, '') FROM flows WHERE resp_p = 443")"
    check_eq "16 bytes: 80" "http|" \
        "$(sql "$db" "SELECT app_proto, ifnull(server_name, '') FROM flows WHERE resp_p = 80")"
    check_eq "16 bytes: 1433" "" \
        "$(sql "$db" "SELECT ifnull(app_proto, '') FROM flows WHERE resp_p = 1433")"
    db=$tmp/nb2.db
    read_ok "$db" "$samples/healthy.pcap" || return
    check_eq "default: 443" "tls|apps.example.com" \
        "$(sql "$db" "SELECT app_proto, server_name FROM flows WHERE resp_p = 443")"
    check_eq "default: 1433" "tds" "$(sql "$db" "SELECT app_proto FROM flows WHERE resp_p = 1433")"
    expect_error "--name-bytes" "'0'" -- read -q --db "$tmp/nb3.db" --name-bytes 0 \
        "$samples/healthy.pcap"
}

# ---------------------------------------------------------------- main

case $what in
*.pcap | *.pcapng) test_sample "$what" ;;
formats) test_formats ;;
multi) test_multi ;;
append) test_append ;;
checksums) test_checksums ;;
filter) test_filter ;;
errors) test_errors ;;
export) test_export ;;
flows-filters) test_flows_filters ;;
evict) test_evict ;;
cut) test_cut ;;
dns) test_dns ;;
name-bytes) test_name_bytes ;;
*)
    echo "unknown test '$what'" >&2
    exit 2
    ;;
esac

finish "$what"

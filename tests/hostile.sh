#!/bin/bash
# Hostile inputs: each gets one clear error line and exit status 2 (or,
# where the README says so, is read with one warning), and nothing already
# committed is lost.  The captures and rule files come from tests/hostile.py.
#
#   hostile.sh FLOWAUDIT GROUP
#     captures     every capture of hostile.py's MANIFEST, as its outcome says
#                  (ok, cut, corrupt, refused): status, the one stderr line
#                  naming the file, the run's packets, nothing written when
#                  refused; a corrupt file stops the run and check audits nothing
#     timestamps   packets out of time order: no negative duration or
#                  handshake time, an early packet splits no flow, a late
#                  one ends it by timeout (docs/flows.md)
#     rules        every kind of mistake in a site file, through audit and
#                  check: status 2, one line naming FILE:LINE:COLUMN (or the
#                  file), no audit stored, no database created
#     databases    --db that is not SQLite, empty, newer, damaged, a folder,
#                  in a missing folder: read, audit, report, flows, check
#     permissions  a read-only database, a read-only folder, -o into one
#                  (as nobody when run as root; skipped when that fails)
#     disk-full    a database on a small tmpfs filled up mid-run: one line,
#                  status 2, the earlier run intact, the failed run
#                  unfinished with whole batches; -o leaves no partial file
#                  (root only: skipped otherwise)
#
# Needs bash, coreutils, sqlite3 and python3.  Exits 1 after printing every
# check that failed, 77 with "SKIPPED: ..." when a group cannot run here.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 2 ]; then
    echo "usage: $0 FLOWAUDIT GROUP" >&2
    exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
group=$2
here=$(cd "$(dirname "$0")" && pwd)
samples=$here/../samples
site=$samples/site.rules
tmp=$(mktemp -d /tmp/flowaudit-hostile.XXXXXX)
top=$tmp
mnt=
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    chmod -R u+rwx "$top" 2>/dev/null
    rm -rf "$top"
}
trap cleanup EXIT

# runas ARGS...: runs a command as the user the permission checks need (see
# the permissions group); plain otherwise.
runas() {
    "$@"
}

# fa ARGS...: runs the binary in $tmp (as runas says); stdout in $tmp/out,
# stderr in $tmp/err, status in $rc.  Replaces lib.sh's, for its
# expect_error too; one_line comes from lib.sh.
fa() {
    (cd "$tmp" && runas "$bin" "$@") >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# names_in DIR: the names of what DIR holds, sorted, on one line.
names_in() {
    find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//'
}

# snapshot FILE: its checksum, with its -wal (what a reader sees).
snapshot() {
    cat "$1" "$1-wal" 2>/dev/null | md5sum
}

generate() {
    python3 "$here/hostile.py" "$tmp/in" || {
        echo "FAIL: hostile.py"
        exit 1
    }
}

# A database with one finished run of healthy.pcap and one audit.
good_db() {
    if ! "$bin" read -q --db "$1" "$samples/healthy.pcap" ||
        ! "$bin" audit --db "$1" --site "$site" >/dev/null; then
        fail "cannot make $1"
    fi
}

# ---------------------------------------------------------------- captures

test_captures() {
    generate
    local name outcome packets path db n=0 base=$tmp/base.db before
    good_db "$base"
    while IFS=$'\t' read -r name outcome packets; do
        n=$((n + 1))
        path=$tmp/in/$name
        db=$tmp/c$n.db
        fa read -q --db "$db" "$path"
        case $outcome in
        ok)
            check_eq "$name: status" 0 "$rc"
            [ -s "$tmp/err" ] && fail "$name: stderr: $(cat "$tmp/err")"
            ;;
        cut)
            check_eq "$name: status" 0 "$rc"
            one_line "$name" "$path: truncated capture: kept its first $packets packets"
            ;;
        corrupt)
            check_eq "$name: status" 2 "$rc"
            one_line "$name" "$path: unreadable record after packet $packets:"
            ;;
        refused)
            check_eq "$name: status" 2 "$rc"
            one_line "$name" "$path: not a readable pcap or pcapng capture"
            [ -e "$db" ] && fail "$name: a refused capture created $db"
            # An existing database is left as it was.
            before=$(snapshot "$base")
            fa read -q --db "$base" "$path"
            check_eq "$name into an existing database: status" 2 "$rc"
            check_eq "$name: database untouched" "$before" "$(snapshot "$base")"
            continue
            ;;
        *)
            fail "MANIFEST: unknown outcome $outcome"
            continue
            ;;
        esac
        check_eq "$name: runs, ended, packets" "1|1|$packets" \
            "$(sql "$db" 'SELECT count(*), min(ended IS NOT NULL), sum(packets) FROM runs')"
        check_eq "$name: runs.flows = rows" "$(sql "$db" 'SELECT flows FROM runs')" \
            "$(sql "$db" 'SELECT count(*) FROM flows')"
        rm -f "$db"
    done <"$tmp/in/MANIFEST"
    check_eq "captures in MANIFEST" 1 "$((n > 150))"
    check_eq "runs of the existing database" 1 "$(sql "$base" 'SELECT count(*) FROM runs')"

    # A corrupt file stops the run: the file after it is not read, and
    # check audits nothing.
    local bad=$tmp/in/corrupt-pcap-caplen-ffffffff.pcap
    fa read -q --db "$tmp/stop.db" "$bad" "$samples/healthy.pcap"
    check_eq "corrupt then healthy: status" 2 "$rc"
    one_line "corrupt then healthy" "$bad: unreadable record after packet 3"
    check_eq "corrupt then healthy: packets" 3 "$(sql "$tmp/stop.db" 'SELECT packets FROM runs')"
    fa check -q --db "$tmp/check.db" --site "$site" "$bad"
    check_eq "check of a corrupt capture: status" 2 "$rc"
    one_line "check of a corrupt capture" "$bad"
    check_eq "check of a corrupt capture: audits" 0 "$(sql "$tmp/check.db" 'SELECT count(*) FROM audits')"
    [ -s "$tmp/out" ] && fail "check of a corrupt capture printed a report"
    # A cut file is a warning: check goes on to audit it.
    fa check -q --db "$tmp/check2.db" --site "$site" "$tmp/in/cut-pcap-after-3.pcap"
    check_eq "check of a cut capture: status" 0 "$rc"
    check_eq "check of a cut capture: audits" 1 "$(sql "$tmp/check2.db" 'SELECT count(*) FROM audits')"
}

# ---------------------------------------------------------------- timestamps

# flows_of FILE: its flows as first|last|state|history|syn_to_synack|synack_to_ack|end_reason.
flows_of() {
    rm -f "$tmp/t.db"*
    fa read -q --db "$tmp/t.db" "$tmp/in/$1"
    check_eq "$1: status and stderr" "0 " "$rc $(cat "$tmp/err")"
    sql "$tmp/t.db" "SELECT printf('%.6f', first_seen), printf('%.6f', last_seen), conn_state,
                     history, ifnull(syn_to_synack, '-'), ifnull(synack_to_ack, '-'), end_reason
                     FROM flows ORDER BY seq"
}

test_timestamps() {
    generate
    local f
    for f in ok-pcap-backwards.pcap ok-pcap-backwards-ns.pcap ok-ng-ts-huge.pcapng \
        ok-pcap-one-packet-early.pcap ok-pcap-one-packet-late.pcap; do
        flows_of "$f" >/dev/null
        check_eq "$f: flows with last_seen before first_seen, negative handshake times" 0 \
            "$(sql "$tmp/t.db" 'SELECT count(*) FROM flows WHERE last_seen < first_seen
                                OR syn_to_synack < 0 OR synack_to_ack < 0')"
        check_eq "$f: first_packet <= last_packet" 1 \
            "$(sql "$tmp/t.db" 'SELECT first_packet <= last_packet FROM runs')"
        check_eq "$f: times within the years 1833..2106" 0 \
            "$(sql "$tmp/t.db" 'SELECT count(*) FROM flows WHERE abs(first_seen) > 4294967296
                                OR abs(last_seen) > 4294967296')"
    done
    # The SYN-ACK stamped before its SYN: a handshake of 0, not negative;
    # one flow, whole.  (libpcap reads a classic pcap's seconds as signed
    # 32 bits: 0xffffffff.999999 is -0.000001.)
    check_eq "backwards: the flow" "-0.000001|1715675401.999999|SF|ShADdFf|0.0|0.0008|capture-end" \
        "$(flows_of ok-pcap-backwards.pcap)"
    check_eq "backwards, nanoseconds: the flow" \
        "-0.000001|1715675401.000000|SF|ShADdFf|0.0|0.0008|capture-end" \
        "$(flows_of ok-pcap-backwards-ns.pcap)"
    # Stamps more than 2^32 s from 1970 are held at the limit (2106, or
    # 1833 for what libpcap makes negative), not wrapped round; the jump
    # of the clock to 2106 ends the flow idle by then, and the packets
    # after it, older than the clock, join the flow that began there.
    check_eq "stamps out of range: the flows" \
        "-4294967296.000000|1715675401.000000|S1|ShAD|1.0|-|timeout
1715675402.000000|4294967296.000000|SF|^dFfA|-|-|capture-end" "$(flows_of ok-ng-ts-huge.pcapng)"
    check_eq "a packet an hour early: one flow" \
        "1715671800.003000|1715675400.006000|SF|ShADdFf|0.001|0.001|capture-end" \
        "$(flows_of ok-pcap-one-packet-early.pcap)"
    check_eq "a packet a day late: the flow times out, the rest is a second one" \
        "1715675400.000000|1715675400.002000|S1|ShA|0.001|0.001|timeout
1715675400.004000|1715761800.003000|SF|DdFfA|-|-|capture-end" \
        "$(flows_of ok-pcap-one-packet-late.pcap)"
}

# ---------------------------------------------------------------- rules

# bad_rules FILE NEEDLE...: audit and check refuse the site file FILE with
# one line holding every NEEDLE; nothing is stored or created.
bad_rules() {
    local file=$1 before
    shift
    before=$(snapshot "$tmp/base.db")
    expect_error "$@" -- audit --db "$tmp/base.db" --site "$file"
    check_eq "audit --site $file: database untouched" "$before" "$(snapshot "$tmp/base.db")"
    expect_error "$@" -- check -q --db "$tmp/new.db" --site "$file" "$samples/healthy.pcap"
    [ -e "$tmp/new.db" ] && fail "check --site $file created its database" && rm -f "$tmp/new.db"
    expect_error "$@" -- audit --db "$tmp/base.db" --site "$site" --matrix "$file"
}

test_rules() {
    generate
    local name pos words n=0
    good_db "$tmp/base.db"
    while IFS=$'\t' read -r name pos words; do
        n=$((n + 1))
        local needles=("flowaudit: $tmp/in/rules/$name:$pos: ")
        IFS=$'\t' read -r -a more <<<"$words"
        bad_rules "$tmp/in/rules/$name" "${needles[@]}" "${more[@]}"
    done <"$tmp/in/rules/MANIFEST"
    check_eq "rule files in MANIFEST" 15 "$n"

    : >"$tmp/empty.rules"
    bad_rules "$tmp/empty.rules" "flowaudit: $tmp/empty.rules: empty rule file"
    printf '  \n\t\r\n\n' >"$tmp/blank.rules"
    bad_rules "$tmp/blank.rules" "flowaudit: $tmp/blank.rules: empty rule file"
    mkdir "$tmp/folder.rules"
    bad_rules "$tmp/folder.rules" "flowaudit: $tmp/folder.rules: cannot read: Is a directory"
    bad_rules "$tmp/missing.rules" "flowaudit: $tmp/missing.rules: cannot read: No such file"
    # A file of comments is somebody's decision, not a mistake.
    printf '# nothing to add yet\n' >"$tmp/comments.rules"
    fa audit --db "$tmp/base.db" --site "$tmp/comments.rules"
    check_eq "a site file of comments: status" 0 "$rc"
    check_eq "audits stored" 2 "$(sql "$tmp/base.db" 'SELECT count(*) FROM audits')"
}

# ---------------------------------------------------------------- databases

# refused_db NAME MAKE NEEDLE...: each command refuses the database NAME
# (made afresh by the shell function MAKE before each) with one line naming
# it and every NEEDLE, and leaves it as it was.
refused_db() {
    local name=$1 make=$2 cmd before
    shift 2
    for cmd in "read -q --db $name $samples/healthy.pcap" "audit --db $name --site $site" \
        "report --db $name" "flows --db $name" "export --db $name --format jsonl" \
        "check -q --db $name --site $site $samples/healthy.pcap"; do
        (cd "$tmp" && $make "$name")
        before=$(snapshot "$tmp/$name")
        # shellcheck disable=SC2086
        expect_error "flowaudit: $name: " "$@" -- $cmd
        check_eq "$cmd: $name unchanged" "$before" "$(snapshot "$tmp/$name")"
    done
}

make_text() { printf 'this is not a database\n' >"$1"; }
make_pcap() { cp "$samples/healthy.pcap" "$1"; }
make_newer() {
    rm -f "$1"*
    cp "$tmp/base.db" "$1" && sql "$1" 'PRAGMA user_version = 99'
}
# Page 1 (the schema) overwritten past the file header.
make_bad_schema() {
    rm -f "$1"*
    cp "$tmp/base.db" "$1" &&
        python3 -c "f = open('$1', 'r+b'); f.seek(100); f.write(b'\xff' * 3000)"
}
make_dir() { rm -rf "$1" && mkdir "$1"; }
make_nothing() { :; }

test_databases() {
    good_db "$tmp/base.db"
    sql "$tmp/base.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    refused_db text.db make_text "not a flowaudit database"
    refused_db pcap.db make_pcap "not a flowaudit database"
    refused_db newer.db make_newer "schema version 99 is newer" "use a newer flowaudit"
    refused_db bad-schema.db make_bad_schema "malformed" ".recover"
    refused_db folder.db make_dir "is a directory"
    refused_db nowhere/x.db make_nothing
    expect_error "nowhere/x.db: cannot create the database: folder nowhere does not exist" -- \
        read -q --db nowhere/x.db "$samples/healthy.pcap"
    expect_error "nowhere/x.db: no such database" -- flows --db nowhere/x.db
    expect_error "missing.db: no such database" -- audit --db missing.db --site "$site"
    [ -e "$tmp/missing.db" ] && fail "audit created missing.db"
    [ -e "$tmp/nowhere" ] && fail "a command created the folder nowhere"

    # An empty file is a new database for read, and nothing to audit.
    : >"$tmp/zero.db"
    expect_error "zero.db: empty database" -- audit --db zero.db --site "$site"
    expect_error "zero.db: empty database" -- report --db zero.db
    expect_error "zero.db: empty database" -- flows --db zero.db
    check_eq "zero.db after refusals" 0 "$(stat -c %s "$tmp/zero.db")"
    fa read -q --db zero.db "$samples/healthy.pcap"
    check_eq "read into an empty file: status" "0 " "$rc $(cat "$tmp/err")"

    # Pages overwritten in the middle of a database: what reads them says
    # it is damaged and how to recover, once; what does not read them
    # (read appends, check audits its own run) works.
    generate
    "$bin" read -q --db "$tmp/damaged.db" "$tmp/in/many-flows.pcap" || fail "read many-flows.pcap"
    sql "$tmp/damaged.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    python3 - "$tmp/damaged.db" <<'EOF'
import os, sys
f = open(sys.argv[1], "r+b")
f.seek(os.path.getsize(sys.argv[1]) // 4096 // 2 * 4096)
f.write(bytes(range(256)) * 48)
EOF
    expect_error "damaged.db: cannot read flows: database disk image is malformed" ".recover" -- \
        flows --db damaged.db
    expect_error "damaged.db: " "malformed" ".recover" -- audit --db damaged.db --site "$site"
    check_eq "damaged.db: no audit stored" 0 "$(sql "$tmp/damaged.db" 'SELECT count(*) FROM audits')"

    # -o over a symbolic link writes its target, and a file replaced keeps
    # its mode.
    echo old >"$tmp/target.txt"
    chmod 600 "$tmp/target.txt"
    ln -s target.txt "$tmp/link.txt"
    "$bin" report --db "$tmp/base.db" -o "$tmp/link.txt" || fail "report -o link.txt"
    [ -L "$tmp/link.txt" ] || fail "-o replaced the symbolic link link.txt"
    grep -q "^flowaudit" "$tmp/target.txt" || fail "-o did not write the link's target"
    "$bin" report --db "$tmp/base.db" -o "$tmp/target.txt" || fail "report -o target.txt"
    check_eq "mode of a report file replaced" 600 "$(stat -c %a "$tmp/target.txt")"
}

# ---------------------------------------------------------------- permissions

test_permissions() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null ||
            skip "running as root, and setpriv cannot run as nobody here"
        runas() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
        runas test -x "$bin" || skip "nobody cannot run $bin"
    fi
    chmod 755 "$tmp"
    mkdir -m 777 "$tmp/w"
    tmp=$tmp/w
    local before
    fa read -q --db base.db "$samples/healthy.pcap"
    check_eq "setup: read: status, stderr" "0 " "$rc $(cat "$tmp/err")"
    fa audit --db base.db --site "$site"
    check_eq "setup: audit" 0 "$rc"

    # A read-only database: readers read it, writers say so.
    cp "$tmp/base.db" "$tmp/ro.db"
    chmod 444 "$tmp/ro.db"
    before=$(snapshot "$tmp/ro.db")
    expect_error "ro.db: cannot write to the database: the file is read-only" -- \
        read -q --db ro.db "$samples/healthy.pcap"
    expect_error "ro.db: cannot write to the database: the file is read-only" -- \
        audit --db ro.db --site "$site"
    expect_error "ro.db: cannot write to the database: the file is read-only" -- \
        check -q --db ro.db --site "$site" "$samples/healthy.pcap"
    fa flows --db ro.db
    check_eq "flows of a read-only database: status, stderr" "0 " "$rc $(cat "$tmp/err")"
    fa report --db ro.db
    check_eq "report of a read-only database: status, stderr" "0 " "$rc $(cat "$tmp/err")"
    check_eq "ro.db unchanged" "$before" "$(snapshot "$tmp/ro.db")"

    # A read-only folder: its database (in WAL mode) can be neither written
    # nor read, and a new one not created; -o cannot go there.
    mkdir "$tmp/ro"
    cp "$tmp/base.db" "$tmp/ro/x.db"
    chmod 666 "$tmp/ro/x.db"
    chmod 555 "$tmp/ro"
    before=$(snapshot "$tmp/ro/x.db")
    expect_error "ro/x.db: cannot write to the database: its folder ro is not writable" -- \
        read -q --db ro/x.db "$samples/healthy.pcap"
    expect_error "ro/x.db: cannot write to the database: its folder ro is not writable" -- \
        audit --db ro/x.db --site "$site"
    expect_error "ro/x.db: cannot read the database: its folder ro is not writable" -- \
        flows --db ro/x.db
    expect_error "ro/x.db: cannot read the database: its folder ro is not writable" -- \
        report --db ro/x.db
    check_eq "ro/x.db unchanged" "$before" "$(snapshot "$tmp/ro/x.db")"
    expect_error "ro/new.db: cannot create the database in folder ro: Permission denied" -- \
        read -q --db ro/new.db "$samples/healthy.pcap"
    expect_error "ro/report.txt: cannot write: Permission denied" -- \
        report --db base.db -o ro/report.txt
    expect_error "ro/conn.log: cannot write: Permission denied" -- \
        export --db base.db --format zeek -o ro/conn.log
    check_eq "files in the read-only folder" "x.db" "$(names_in "$tmp/ro")"
}

# ---------------------------------------------------------------- disk-full

test_disk_full() {
    need_root "mounting a small tmpfs"
    mnt=$tmp/mnt
    mkdir "$mnt"
    if ! mount -t tmpfs -o size=3m tmpfs "$mnt" 2>/dev/null; then
        mnt=
        skip "cannot mount a tmpfs here"
    fi
    generate
    local db=$mnt/x.db avail
    "$bin" read -q --db "$db" "$samples/healthy.pcap" || fail "first run"
    "$bin" flows --db "$db" --format csv >"$tmp/run1.csv" || fail "flows of the first run"
    sql "$db" 'SELECT * FROM runs' >"$tmp/run1.row"
    printf 'an older report\n' >"$mnt/report.txt"

    # Room for a batch or two of many-flows.pcap's 20,000 flows, not five.
    avail=$(df -k --output=avail "$mnt" | tail -n 1)
    dd if=/dev/zero of="$mnt/fill" bs=1k count=$((avail - 1000)) status=none 2>/dev/null
    expect_error "$db: " "database or disk is full" "free space" -- \
        read -q --db "$db" "$tmp/in/many-flows.pcap"

    # Nothing left at all: a new database is not left behind, an audit is
    # not stored, a report or export does not replace the older file.
    dd if=/dev/zero of="$mnt/fill2" bs=4k status=none 2>/dev/null
    expect_error "$mnt/new.db: " "full" -- read -q --db "$mnt/new.db" "$samples/healthy.pcap"
    [ -e "$mnt/new.db" ] && fail "a failed read on a full disk left $mnt/new.db"
    expect_error "$db: " "full" -- audit --db "$db" --site "$site"
    good_db "$tmp/elsewhere.db"
    expect_error "$mnt/report.txt: cannot write: No space left on device" -- \
        report --db "$tmp/elsewhere.db" -o "$mnt/report.txt"
    expect_error "$mnt/conn.log: cannot write: No space left on device" -- \
        export --db "$tmp/elsewhere.db" --format zeek -o "$mnt/conn.log"
    check_eq "the older report" "an older report" "$(cat "$mnt/report.txt")"
    check_eq "files on the full disk" "fill fill2 report.txt x.db x.db-shm x.db-wal" \
        "$(names_in "$mnt")"

    # Room again: the database is whole, the first run as it was, the
    # failed run unfinished, holding whole batches and no more flows than
    # its row counts; no audit stored.
    rm -f "$mnt/fill" "$mnt/fill2"
    check_eq "integrity_check" ok "$(sql "$db" 'PRAGMA integrity_check')"
    check_eq "the first run's row" "$(cat "$tmp/run1.row")" "$(sql "$db" 'SELECT * FROM runs WHERE id = 1')"
    "$bin" flows --db "$db" --run 1 --format csv >"$tmp/after.csv" || fail "flows --run 1 after"
    cmp -s "$tmp/run1.csv" "$tmp/after.csv" || fail "the first run's flows changed"
    check_eq "runs" 2 "$(sql "$db" 'SELECT count(*) FROM runs')"
    local rows
    rows=$(sql "$db" 'SELECT count(*) FROM flows WHERE run_id = 2')
    check_eq "the failed run is unfinished" 1 "$(sql "$db" 'SELECT ended IS NULL FROM runs WHERE id = 2')"
    check_eq "the failed run holds whole batches, at least one, not all" 1 \
        "$((rows % writer_batch == 0 && rows > 0 && rows < 20000))"
    check_eq "the failed run's row counts its flows" 1 \
        "$(sql "$db" "SELECT flows >= $rows AND packets >= $rows FROM runs WHERE id = 2")"
    check_eq "audits" 0 "$(sql "$db" 'SELECT count(*) FROM audits')"
    # And the database takes the next run.
    fa read -q --db "$db" "$samples/db-blocked.pcap"
    check_eq "a run after the disk was freed: status, stderr" "0 " "$rc $(cat "$tmp/err")"
}

case $group in
captures) test_captures ;;
timestamps) test_timestamps ;;
rules) test_rules ;;
databases) test_databases ;;
permissions) test_permissions ;;
disk-full) test_disk_full ;;
*)
    echo "unknown group '$group'" >&2
    exit 2
    ;;
esac

finish "$group"

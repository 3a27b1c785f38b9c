#!/bin/bash
# Crash safety and privileges of read and capture.
#
#   crash.sh FLOWAUDIT GROUP
#     read-sigkill     `read -` killed with SIGKILL after its first commits:
#                      the database passes integrity_check, and its run
#                      holds exactly what its checkpoint promises: every
#                      flow that ended while the packets up to the
#                      checkpoint were processed, as a complete read of
#                      the same packets records it, and nothing beyond the
#                      whole batches committed
#     read-sigterm     `read -` stopped with SIGTERM while it waits for more:
#                      status 2, one line, the run ended, and exactly the
#                      flows a complete read of the packets read records
#     capture-sigkill  `capture --checkpoint 1` on lo killed with SIGKILL
#                      after two checkpoints: every connection closed
#                      before the last checkpoint is there, SF
#     capture-sigterm  the same stopped with SIGTERM: status 0, the run
#                      ended, every connection there, none still active
#     privileges       `capture -Z nobody`: runs as nobody (uid, gid,
#                      groups, no capabilities) and still captures; the
#                      database is nobody's; a folder only root may write
#                      is refused; an unknown user is refused before
#                      anything is opened
#
# The capture groups need root (else they exit 77, SKIPPED).  No check is
# timed: waits poll the database with bounded retries, and the checkpoint
# is compared with packet times, never with how long anything took.
# Needs bash, sqlite3 and python3.  Exits 1 after printing every failed check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -ne 2 ]; then
    echo "usage: $0 FLOWAUDIT GROUP" >&2
    exit 2
fi
bin=$1
what=$2
here=$(cd "$(dirname "$0")" && pwd)
helper=$here/crash_helper.py
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The flow as a complete read records it: every column but id and run_id
# (uid is made from the run id and seq, and every database here has run 1).
flow_cols="seq, uid, proto, orig_h, orig_p, resp_h, resp_p, printf('%.6f', first_seen),
    printf('%.6f', last_seen), orig_pkts, orig_ip_bytes, orig_bytes, resp_pkts, resp_ip_bytes,
    resp_bytes, conn_state, history, syn_count, ifnull(printf('%.6f', syn_to_synack), '-'),
    ifnull(printf('%.6f', synack_to_ack), '-'), end_reason, ifnull(app_proto, '-'),
    ifnull(server_name, '-')"

# flows DB WHERE: one line per flow, in the order the records were written
# (a read writes each flow once, so rowid order is write order).
flows() {
    sql "$1" "SELECT $flow_cols FROM flows WHERE $2 ORDER BY id"
}

# wait_for DB SQL: polls until SQL prints 1 (at most about a minute); 1 if
# never.  Read-only, so that the poll never creates the database itself.
wait_for() {
    for _ in $(seq 600); do
        [ "$(sqlite3 -batch -readonly "$1" "$2" 2>/dev/null)" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# The checkpoint of run 1 in whole microseconds, as the packets are stamped.
checkpoint_us() {
    sql "$1" "SELECT CAST(round(checkpoint * 1e6) AS INTEGER) FROM runs WHERE id = 1"
}

check_integrity() {
    check_eq "$1: integrity_check" ok "$(sql "$1" 'PRAGMA integrity_check' 2>&1)"
}

read_opts=(-q --tcp-timeout 1 --udp-timeout 1 --attempt-timeout 1 --icmp-timeout 1)

# ---------------------------------------------------------------- read

# start_read_run PCAP DB GO: generates PCAP and starts `read -` into DB
# (its pid in $fa), fed half of it through a FIFO, the rest once the file
# GO exists; returns once a batch is committed, 1 if none is (after
# saying so).
start_read_run() {
    python3 "$helper" gen "$1" || { fail "cannot generate the capture"; return 1; }
    mkfifo "$tmp/fifo"
    python3 "$helper" feed "$1" 0.5 "$3" >"$tmp/fifo" &
    pids+=($!)
    "$bin" read "${read_opts[@]}" --db "$2" - <"$tmp/fifo" 2>"$tmp/err" &
    fa=$!
    pids+=("$fa")
    wait_for "$2" "SELECT checkpoint IS NOT NULL FROM runs WHERE id = 1" && return 0
    fail "no committed batch showed in the run's row: $(cat "$tmp/err")"
    return 1
}

group_read_sigkill() {
    local pcap=$tmp/all.pcap db=$tmp/killed.db
    start_read_run "$pcap" "$db" "$tmp/go" || return
    # More packets, and the kill as soon as another batch is committed:
    # it lands while the run reads and writes.
    local first
    first=$(checkpoint_us "$db")
    touch "$tmp/go"
    wait_for "$db" "SELECT round(checkpoint * 1e6) > $first FROM runs WHERE id = 1" ||
        fail "no second batch showed in the run's row"
    kill -9 "$fa"
    wait "$fa" 2>/dev/null

    check_integrity "$db"
    check_eq "killed run: ended" "" "$(sql "$db" 'SELECT ended FROM runs WHERE id = 1')"
    local ckpt
    ckpt=$(checkpoint_us "$db")
    # The packets up to the checkpoint, and those up to the next packet
    # (the one being processed when the last committed batch filled).
    local split next n_before n_through
    split=$(python3 "$helper" cut "$pcap" "$tmp/before.pcap" "$ckpt")
    n_before=${split% *}
    next=${split#* }
    python3 "$helper" cut "$pcap" "$tmp/through.pcap" "$next" >/dev/null
    n_through=$((n_before + 1))
    for part in all before through; do
        "$bin" read "${read_opts[@]}" --db "$tmp/$part.db" "$tmp/$part.pcap" ||
            fail "reference read of $part.pcap failed"
    done
    check_eq "the checkpoint is a packet's stamp" \
        "$(python3 "$helper" cut "$pcap" /dev/null "$((ckpt - 1))" | cut -d' ' -f2)" "$ckpt"

    flows "$db" 1 >"$tmp/killed.txt"
    flows "$tmp/all.db" 1 >"$tmp/all.txt"
    local n
    n=$(wc -l <"$tmp/killed.txt")
    # Whole batches only: the batch being filled and any batch not yet
    # committed are lost, nothing half-written.
    [ "$n" -gt 0 ] && [ $((n % writer_batch)) -eq 0 ] ||
        fail "killed run holds $n flows, not a whole number of $writer_batch-flow batches"
    # None missing, none extra, none different: the records written first
    # by a complete read, in the same order.
    head -n "$n" "$tmp/all.txt" | cmp -s - "$tmp/killed.txt" ||
        fail "killed run's flows are not the first $n records of a complete read:
$(head -n "$n" "$tmp/all.txt" | diff - "$tmp/killed.txt" | head -10)"
    # Every flow that ended by the checkpoint is there...
    flows "$tmp/before.db" "end_reason <> 'capture-end'" | sort >"$tmp/ended-before.txt"
    sort "$tmp/killed.txt" >"$tmp/killed.sorted"
    local missing
    missing=$(comm -23 "$tmp/ended-before.txt" "$tmp/killed.sorted" | wc -l)
    check_eq "flows ended by the checkpoint and missing" 0 "$missing"
    check_eq "flows ended by the checkpoint: some" 1 "$([ -s "$tmp/ended-before.txt" ] && echo 1)"
    # ...and nothing that ended after the packet being processed then.
    flows "$tmp/through.db" "end_reason <> 'capture-end'" | sort >"$tmp/ended-through.txt"
    check_eq "flows beyond the packet after the checkpoint" 0 \
        "$(comm -13 "$tmp/ended-through.txt" "$tmp/killed.sorted" | wc -l)"
    # The run's totals are those of its last commit: flows counted up to
    # the checkpoint, packets up to the one being processed.
    check_eq "runs.flows = flows created by the checkpoint" \
        "$(sql "$tmp/before.db" 'SELECT flows FROM runs')" "$(sql "$db" 'SELECT flows FROM runs')"
    check_eq "runs.packets = packets up to the one being processed" \
        "$n_through" "$(sql "$db" 'SELECT packets FROM runs')"
    check_eq "rows present <= runs.flows" 1 \
        "$(sql "$db" 'SELECT (SELECT count(*) FROM flows) <= flows FROM runs')"
    echo "read-sigkill: killed at packet $n_through: $n flows committed," \
        "$(wc -l <"$tmp/ended-before.txt") ended by the checkpoint," \
        "$(wc -l <"$tmp/ended-through.txt") by the packet after it, $(wc -l <"$tmp/all.txt") in all"
    # A complete read ends with checkpoint = last_packet.
    check_eq "complete read: checkpoint = last_packet" 1 \
        "$(sql "$tmp/all.db" 'SELECT checkpoint = last_packet AND ended IS NOT NULL FROM runs')"
}

# `read -` stopped with SIGTERM while it waits for more of the capture:
# status 2 and one line saying so, the run finished, and every flow the
# packets read so far made is recorded, exactly as a complete read of
# those packets records them.
group_read_sigterm() {
    local pcap=$tmp/all.pcap db=$tmp/stopped.db
    start_read_run "$pcap" "$db" "$tmp/never" || return
    kill -TERM "$fa"
    wait "$fa"
    check_eq "read stopped by SIGTERM: status" 2 "$?"
    check_eq "read stopped by SIGTERM: stderr lines" 1 "$(wc -l <"$tmp/err")"
    grep -q "stopped by a signal after" "$tmp/err" || fail "stderr does not say why: $(cat "$tmp/err")"
    check_integrity "$db"
    check_eq "stopped run: ended" 1 "$(sql "$db" 'SELECT ended IS NOT NULL FROM runs WHERE id = 1')"
    check_eq "stopped run: checkpoint = last_packet" 1 \
        "$(sql "$db" 'SELECT checkpoint = last_packet FROM runs WHERE id = 1')"
    local last packets split
    last=$(sql "$db" "SELECT CAST(round(last_packet * 1e6) AS INTEGER) FROM runs WHERE id = 1")
    packets=$(sql "$db" "SELECT packets FROM runs WHERE id = 1")
    split=$(python3 "$helper" cut "$pcap" "$tmp/read.pcap" "$last")
    check_eq "packets read = packets up to the last one's stamp" "${split% *}" "$packets"
    "$bin" read "${read_opts[@]}" --db "$tmp/ref.db" "$tmp/read.pcap" ||
        fail "reference read of the packets read failed"
    flows "$db" 1 | sort >"$tmp/stopped.txt"
    flows "$tmp/ref.db" 1 | sort >"$tmp/ref.txt"
    cmp -s "$tmp/ref.txt" "$tmp/stopped.txt" ||
        fail "the stopped run's flows differ from a complete read of the packets it read:
$(diff "$tmp/ref.txt" "$tmp/stopped.txt" | head -10)"
    check_eq "runs.flows = rows" "$(wc -l <"$tmp/ref.txt")" "$(sql "$db" 'SELECT flows FROM runs')"
    echo "read-sigterm: stopped after $packets packets: $(wc -l <"$tmp/stopped.txt") flows, all recorded"
}

# ---------------------------------------------------------------- capture

# need_capture: skips unless this can capture on lo (root, packet sockets).
need_capture() {
    need_root "$what" "capture on lo"
    python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' 2>/dev/null ||
        skip "$what: no packet sockets here (CAP_NET_RAW)"
}

# start_server: a TCP server on a free port of 127.0.0.1, in $port.
start_server() {
    python3 "$helper" serve "$tmp/port" &
    pids+=($!)
    for _ in $(seq 100); do
        [ -s "$tmp/port" ] && break
        sleep 0.1
    done
    port=$(cat "$tmp/port" 2>/dev/null)
    [ -n "$port" ] || { fail "the test server did not start"; return 1; }
}

# launch_capture DB ARGS...: capture on lo for the server's port, in $fa.
launch_capture() {
    local db=$1
    shift
    "$bin" capture -i lo -q -f "tcp port $port" --db "$db" "$@" 2>"$tmp/capture.err" &
    fa=$!
    pids+=("$fa")
}

# start_capture DB ARGS...: as launch_capture; returns once the run's row
# exists (the handle is open by then).
start_capture() {
    launch_capture "$@"
    wait_for "$1" "SELECT count(*) FROM runs" ||
        { fail "capture did not start: $(cat "$tmp/capture.err")"; return 1; }
}

start_client() {
    rm -f "$tmp/stop"
    : >"$tmp/conns"
    python3 "$helper" client "$port" "$tmp/conns" "$tmp/stop" &
    client=$!
    pids+=("$client")
}

stop_client() {
    touch "$tmp/stop"
    wait "$client"
}

# check_connections DB LIST: each connection of LIST ("CLIENT_PORT ...")
# is exactly one flow of the run, to the server's port, SF.
check_connections() {
    local db=$1 list=$2 bad=0 cport rest got
    check_eq "client ports are distinct" "$(wc -l <"$list")" "$(cut -d' ' -f1 "$list" | sort -u | wc -l)"
    while read -r cport rest; do
        got=$(sql "$db" "SELECT group_concat(conn_state) FROM flows
            WHERE orig_h = '127.0.0.1' AND orig_p = $cport AND resp_p = $port")
        if [ "$got" != SF ]; then
            [ $bad -lt 5 ] && fail "connection from port $cport: expected one SF flow, got '$got'"
            bad=$((bad + 1))
        fi
    done <"$list"
    [ $bad -le 5 ] || fail "... $bad connections in all"
}

# start_live_run DB: a server, `capture --checkpoint 1` into DB, and a
# client making connections, until the first checkpoint shows; 1 if any
# of it fails (after saying so).
start_live_run() {
    start_server || return 1
    start_capture "$1" --checkpoint 1 || return 1
    start_client
    wait_for "$1" "SELECT checkpoint IS NOT NULL FROM runs" ||
        { fail "no checkpoint showed in the run's row"; return 1; }
}

group_capture_sigkill() {
    need_capture
    local db=$tmp/live.db
    # Two checkpoints, the second after some connection had closed, so
    # that the check below covers connections.
    start_live_run "$db" || return
    local first
    first=$(checkpoint_us "$db")
    local c1
    for _ in $(seq 600); do
        c1=$(head -n1 "$tmp/conns" | cut -d' ' -f2)
        [ -n "$c1" ] && [ "$(checkpoint_us "$db")" -gt $((c1 + 2)) ] &&
            [ "$(checkpoint_us "$db")" -gt "$first" ] && break
        sleep 0.1
    done
    kill -9 "$fa"
    wait "$fa" 2>/dev/null
    stop_client

    check_integrity "$db"
    check_eq "killed capture: ended" "" "$(sql "$db" 'SELECT ended FROM runs')"
    local ckpt
    ckpt=$(checkpoint_us "$db")
    # Closed before the checkpoint: both FINs were stamped before the
    # client noted its time (2 us: the stored times are rounded).
    awk -v c="$ckpt" '$2 + 2 <= c' "$tmp/conns" >"$tmp/before"
    [ -s "$tmp/before" ] || { fail "no connection closed before the last checkpoint ($ckpt)"; return; }
    check_connections "$db" "$tmp/before"
    echo "capture-sigkill: $(wc -l <"$tmp/before") of $(wc -l <"$tmp/conns") connections closed before the checkpoint"
}

group_capture_sigterm() {
    need_capture
    local db=$tmp/live.db
    start_live_run "$db" || return
    stop_client
    kill -TERM "$fa"
    wait "$fa"
    check_eq "capture after SIGTERM: status" 0 "$?"
    check_eq "capture after SIGTERM: stderr" "" "$(cat "$tmp/capture.err")"
    check_integrity "$db"
    check_eq "run ended, checkpoint = last_packet" 1 \
        "$(sql "$db" 'SELECT ended IS NOT NULL AND checkpoint = last_packet FROM runs')"
    check_eq "runs.flows = rows" "$(sql "$db" 'SELECT flows FROM runs')" \
        "$(sql "$db" 'SELECT count(*) FROM flows')"
    check_eq "flows still marked active" 0 "$(sql "$db" "SELECT count(*) FROM flows WHERE end_reason = 'active'")"
    [ -s "$tmp/conns" ] || { fail "the client made no connection"; return; }
    check_connections "$db" "$tmp/conns"
    check_eq "flows beyond the connections made" "$(wc -l <"$tmp/conns")" \
        "$(sql "$db" 'SELECT count(*) FROM flows')"
}

# ---------------------------------------------------------------- privileges

# proc_ids PID FIELD: the values of a /proc/PID/status line, space separated.
proc_ids() {
    awk -v f="$2:" '$1 == f { $1 = ""; print substr($0, 2) }' "/proc/$1/status"
}

group_privileges() {
    need_capture
    id nobody >/dev/null 2>&1 || skip "privileges: no user nobody"
    local uid gid groups
    uid=$(id -u nobody)
    gid=$(id -g nobody)
    groups=$(id -G nobody | tr ' ' '\n' | sort -n | xargs)
    chmod 755 "$tmp"
    mkdir "$tmp/nobody" "$tmp/root"
    chown nobody: "$tmp/nobody"
    start_server || return
    # Nothing here opens the database before the capture has stopped: a
    # reader running as root could create its -shm file.  The handle is
    # open once the process runs as nobody.
    launch_capture "$tmp/nobody/x.db" -Z nobody
    for _ in $(seq 600); do
        [ "$(proc_ids "$fa" Uid 2>/dev/null)" = "$uid $uid $uid $uid" ] && break
        kill -0 "$fa" 2>/dev/null || break
        sleep 0.1
    done
    check_eq "-Z nobody: Uid (real, effective, saved, fs)" "$uid $uid $uid $uid" "$(proc_ids "$fa" Uid)"
    check_eq "-Z nobody: Gid (real, effective, saved, fs)" "$gid $gid $gid $gid" "$(proc_ids "$fa" Gid)"
    check_eq "-Z nobody: supplementary groups" "$groups" \
        "$(proc_ids "$fa" Groups | tr ' ' '\n' | sort -n | xargs)"
    check_eq "-Z nobody: effective capabilities" 0000000000000000 "$(proc_ids "$fa" CapEff)"
    # Still capturing: one connection, then stop.
    python3 - "$port" "$tmp/conns" <<'EOF' || fail "test connection failed"
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.connect(("127.0.0.1", int(sys.argv[1])))
p = s.getsockname()[1]; s.sendall(b"x"); s.shutdown(socket.SHUT_WR)
while s.recv(4096): pass
s.close()
open(sys.argv[2], "w").write("%d %d\n" % (p, time.time_ns() // 1000))
EOF
    kill -TERM "$fa"
    wait "$fa"
    check_eq "-Z nobody: status" 0 "$?"
    check_eq "-Z nobody: stderr" "" "$(cat "$tmp/capture.err")"
    # Before anything here opens it (as root).
    local f
    for f in "$tmp"/nobody/x.db*; do
        check_eq "owner of $(basename "$f")" "nobody" "$(stat -c %U "$f")"
    done
    check_connections "$tmp/nobody/x.db" "$tmp/conns"
    # The drop is real: a folder only root may write is refused.
    "$bin" capture -i lo -q -Z nobody --db "$tmp/root/x.db" --duration 1 >"$tmp/out" 2>"$tmp/err"
    check_eq "-Z nobody, root's folder: status" 2 "$?"
    check_eq "-Z nobody, root's folder: one error line" 1 "$(grep -c '^flowaudit: .*root/x.db: .*runs as nobody' "$tmp/err")"
    check_eq "-Z nobody, root's folder: nothing else" 1 "$(wc -l <"$tmp/err")"
    check_eq "-Z nobody, root's folder: no file" "" "$(ls "$tmp/root")"
    # An unknown user: refused before anything is opened, the interface
    # included (this one does not exist either).
    "$bin" capture -i no-such-if-fa -q -Z no-such-user-fa --db "$tmp/u.db" --duration 1 >"$tmp/out" 2>"$tmp/err"
    check_eq "-Z unknown: status" 2 "$?"
    check_eq "-Z unknown: one error line" 1 "$(grep -c '^flowaudit: -Z no-such-user-fa: no such user' "$tmp/err")"
    check_eq "-Z unknown: nothing else" 1 "$(wc -l <"$tmp/err")"
    check_eq "-Z unknown: no database" no "$([ -e "$tmp/u.db" ] && echo yes || echo no)"
}

case $what in
read-sigkill) group_read_sigkill ;;
read-sigterm) group_read_sigterm ;;
capture-sigkill) group_capture_sigkill ;;
capture-sigterm) group_capture_sigterm ;;
privileges) group_privileges ;;
*)
    echo "unknown group $what" >&2
    exit 2
    ;;
esac
finish "$what"

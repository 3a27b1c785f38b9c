#!/bin/bash
# Live end-to-end tests: flowaudit capturing real traffic between network
# namespaces, then auditing it.  Root only; skipped, saying so, elsewhere.
#
#   netns   two namespaces joined by a veth pair, documentation addresses
#           only.  The server side runs HTTPS (openssl s_server, a
#           throwaway key), HTTP (python3 http.server) and a SQL Server-like
#           listener (a PRELOGIN answered by a PRELOGIN response), behind
#           nftables that drops one port and rejects another with ICMP
#           (and ICMPv6); a port with nothing listening answers RST.  Real
#           clients connect while `flowaudit capture` records the link from
#           the client side; `flowaudit audit` must then report exactly the
#           blocked, unreachable and rejected flows as findings and the
#           healthy ones as requirements that are ok, and `flows` the TLS
#           server name and the HTTP Host.  Then a datagram sent just
#           before SIGTERM must be recorded.
#   replay  the medium benchmark workload (../shared/bench/genpcap.py)
#           replayed at full speed (tcpreplay --topspeed) onto a veth whose
#           peer flowaudit captures; prints what was sent, what libpcap
#           received and dropped, what the interface dropped, and the flows
#           stored.  Only what does not depend on timing is asserted.  Then
#           a replay while flowaudit is stopped (SIGSTOP): the kernel's
#           drops must show in the run.
#
# Namespaces are named fa-live-<pid>-<side>, so parallel runs never share
# one, and are removed by name on exit, with every process left in them.
#
# Usage: live.sh FLOWAUDIT netns|replay [SHARED_DIR]
set -uo pipefail
. "$(dirname "$0")/lib.sh"

bin=$1
group=$2
shared=${3:-}
prefix=fa-live-$$
namespaces=()
tmp=

# Ends every process still in our namespaces (all started by this script),
# then removes the namespaces by name.  Safe to call twice.
cleanup() {
    local ns pids
    for ns in "${namespaces[@]}"; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        # CONT too: a capture the replay froze cannot act on TERM otherwise.
        [ -n "$pids" ] && kill -TERM $pids 2>/dev/null && kill -CONT $pids 2>/dev/null
    done
    wait 2>/dev/null
    for ns in "${namespaces[@]}"; do
        ip netns delete "$ns" 2>/dev/null
    done
    namespaces=()
    [ -n "$tmp" ] && rm -rf "$tmp"
    tmp=
}
trap cleanup EXIT

# The namespaces are gone, by name: none with this run's prefix is left.
check_removed() {
    cleanup
    if ip netns list | grep -q "^$prefix-"; then
        fail "namespaces left behind: $(ip netns list | grep "^$prefix-" | tr '\n' ' ')"
    fi
}

# new_netns NAME: creates the namespace (skips the test if that is not
# possible here) with its loopback up.
new_netns() {
    local ns=$prefix-$1
    ip netns add "$ns" 2>"$tmp/netns.err" ||
        skip "cannot create network namespaces: $(head -1 "$tmp/netns.err")"
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
}

# nsexec NS CMD...: runs CMD in this run's namespace NS.  In the
# background a function is a subshell of its own: $! would not be CMD's
# process, so what must be signalled is started with `ip netns exec`
# directly (it execs CMD).
nsexec() {
    local ns=$prefix-$1
    shift
    ip netns exec "$ns" "$@"
}

# wait_for WHAT CMD...: retries CMD for up to 10 s.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "$what: not ready after 10 s"
    return 1
}

listening() { # listening NS PORT [COUNT]: COUNT sockets (default 1) listen on PORT
    [ "$(nsexec "$1" ss -Hltn "sport = :$2" | wc -l)" -ge "${3:-1}" ]
}

run_started() { # run_started DB: the capture's run row is in (its handle is open)
    [ "$(sql "$1" 'SELECT count(*) FROM runs' 2>/dev/null)" = 1 ]
}

# start_capture NS IFACE DB [OPTIONS...]: flowaudit capture in the
# background; sets capture_pid once its run has begun (the handle is
# opened before the run's row is written).
start_capture() {
    local ns=$1 iface=$2 db=$3
    shift 3
    ip netns exec "$prefix-$ns" "$bin" capture -i "$iface" --db "$db" "$@" \
        2>"$tmp/capture.err" &
    capture_pid=$!
    wait_for "flowaudit capture" run_started "$db"
}

# stop_capture: SIGTERM, then flowaudit must exit 0.
stop_capture() {
    kill -TERM "$capture_pid"
    wait "$capture_pid"
    local rc=$?
    [ "$rc" -eq 0 ] || fail "capture exited $rc: $(cat "$tmp/capture.err")"
}

# capture_said [TEXT]: what the stopped capture wrote on stderr is TEXT
# (default nothing).
capture_said() {
    [ "$(cat "$tmp/capture.err")" = "${1:-}" ] ||
        fail "capture wrote to stderr: '$(cat "$tmp/capture.err")', expected '${1:-}'"
}

need_root "live_$group" "network namespaces, packet capture"
need_tools ip ss python3 sqlite3
tmp=$(mktemp -d /tmp/fa-live.XXXXXX)

# ---------------------------------------------------------------------------
# netns

# The helper for the database port and for connection attempts.
write_client_py() {
    cat >"$tmp/tds.py" <<'EOF'
"""serve ADDR PORT: a SQL Server-like listener answering each PRELOGIN;
query SRC DST PORT: one PRELOGIN exchange;
attempt SRC DST PORT TIMEOUT: a connection, printing how it ended."""
import errno, socket, struct, sys

def packet(ptype, payload):
    return struct.pack("!BBHHBB", ptype, 0x01, 8 + len(payload), 0, 1, 0) + payload

def prelogin(version):
    options = [(0, version), (1, b"\x02"), (2, b"\0"), (3, b"\0\0\0\0"), (4, b"\0")]
    offset, tokens, data = 5 * len(options) + 1, b"", b""
    for token, value in options:
        tokens += struct.pack("!BHH", token, offset + len(data), len(value))
        data += value
    return tokens + b"\xff" + data

def recv_packet(s):
    data = b""
    while len(data) < 8 or len(data) < struct.unpack("!H", data[2:4])[0]:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("connection closed mid-packet")
        data += chunk
    return data

def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET

mode = sys.argv[1]
if mode == "serve":
    addr, port = sys.argv[2], int(sys.argv[3])
    s = socket.socket(family(addr))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen()
    while True:
        c, _ = s.accept()
        with c:
            if recv_packet(c)[0] == 0x12:
                c.sendall(packet(0x04, prelogin(b"\x0f\x00\x07\xd0\x00\x00")))
elif mode == "query":
    src, dst, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
    with socket.create_connection((dst, port), timeout=5, source_address=(src, 0)) as s:
        s.sendall(packet(0x12, prelogin(b"\x10\x00\x00\x00\x00\x00")))
        reply = recv_packet(s)
        sys.exit(0 if reply[0] == 0x04 else 1)
elif mode == "attempt":
    src, dst, port, timeout = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket(family(dst))
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        s.connect((dst, port))
        print("connected")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}

# The site: which of the link's addresses play which role.  Handshake
# thresholds are set far above anything a veth takes even on a loaded
# machine: the matrix's 10 ms for the database would make the result
# depend on timing.
write_site() {
    cat >"$tmp/site.rules" <<'EOF'
role front-end 192.0.2.10 192.0.2.11 2001:db8:0:1::10 2001:db8:0:1::11
role controller 192.0.2.20
role database 192.0.2.30
role lifetime 192.0.2.40 2001:db8:0:1::40
role dev-tools 198.51.100.7
role end-users 203.0.113.0/24 2001:db8:0:2::/64
set slow-handshake database 10s
EOF
}

# Two namespaces, one veth pair (vc on the client side, vs on the server
# side).  The server side holds front-end .10, database .30, lifetime .40;
# the client side holds an end user, a dev tool, a second front-end (a
# client of the database and of LifeTime) and the controller.  IPv6
# addresses skip duplicate address detection and their neighbours are
# static, so that the only IPv6 traffic is the test's.
setup_link() {
    new_netns c
    new_netns s
    ip -n "$prefix-c" link add vc type veth peer name vs netns "$prefix-s" || return 1
    local a
    for a in 192.0.2.11/24 192.0.2.20/24 198.51.100.7/24 203.0.113.10/24; do
        ip -n "$prefix-c" addr add "$a" dev vc
    done
    for a in 2001:db8:0:1::11/64 2001:db8:0:2::10/64; do
        ip -n "$prefix-c" addr add "$a" dev vc nodad
    done
    for a in 192.0.2.10/24 192.0.2.30/24 192.0.2.40/24; do
        ip -n "$prefix-s" addr add "$a" dev vs
    done
    for a in 2001:db8:0:1::10/64 2001:db8:0:1::40/64; do
        ip -n "$prefix-s" addr add "$a" dev vs nodad
    done
    ip -n "$prefix-c" link set vc up
    ip -n "$prefix-s" link set vs up
    ip -n "$prefix-s" route add 198.51.100.0/24 dev vs
    ip -n "$prefix-s" route add 203.0.113.0/24 dev vs
    ip -n "$prefix-s" route add 2001:db8:0:2::/64 dev vs
    local mac_c mac_s
    mac_s=$(nsexec s cat /sys/class/net/vs/address)
    mac_c=$(nsexec c cat /sys/class/net/vc/address)
    for a in 2001:db8:0:1::10 2001:db8:0:1::40; do
        ip -n "$prefix-c" neigh add "$a" lladdr "$mac_s" dev vc nud permanent
    done
    for a in 2001:db8:0:1::11 2001:db8:0:2::10; do
        ip -n "$prefix-s" neigh add "$a" lladdr "$mac_c" dev vs nud permanent
    done
}

# The server side's firewall: the Deployment Service port of the
# front-end drops SYNs; LifeTime's HTTPS is refused with ICMP (and ICMPv6)
# "administratively prohibited".  The database's 1521 has no listener: RST.
setup_firewall() {
    nsexec s nft -f - <<'EOF'
table inet fa_live {
    chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 192.0.2.10 tcp dport 12001 drop
        ip daddr 192.0.2.40 tcp dport 443 reject with icmp type admin-prohibited
        ip6 daddr 2001:db8:0:1::40 tcp dport 443 reject with icmpv6 type admin-prohibited
    }
}
EOF
}

start_servers() {
    mkdir -p "$tmp/www"
    echo "front-end" >"$tmp/www/index.html"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=portal.example.com -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
        2>"$tmp/openssl.err" || fail "cannot make a key: $(cat "$tmp/openssl.err")"
    local a
    for a in 192.0.2.10:443 '[2001:db8:0:1::10]:443'; do
        nsexec s openssl s_server -quiet -www -accept "$a" -cert "$tmp/cert.pem" \
            -key "$tmp/key.pem" </dev/null >>"$tmp/https.log" 2>&1 &
    done
    nsexec s python3 -m http.server 80 --bind 192.0.2.10 --directory "$tmp/www" \
        >"$tmp/http.log" 2>&1 &
    nsexec s python3 "$tmp/tds.py" serve 192.0.2.30 1433 >"$tmp/tds.log" 2>&1 &
    wait_for "HTTPS servers" listening s 443 2 &&
        wait_for "HTTP server" listening s 80 &&
        wait_for "database listener" listening s 1433
}

# attempt SRC DST PORT TIMEOUT WANT: a connection that must end as WANT
# (the test's own setup is checked before flowaudit's view of it).
attempt() {
    local got
    got=$(nsexec c python3 "$tmp/tds.py" attempt "$1" "$2" "$3" "$4")
    [ "$got" = "$5" ] || fail "connection $1 -> $2 port $3: $got, expected $5"
}

# The clients.  The dropped attempt waits 2.5 s: the kernel sends its SYN
# again after 1 s, so the blocked flow has two SYNs.
run_clients() {
    local curl=(curl -sS -k --max-time 10 -o /dev/null)
    nsexec c "${curl[@]}" --interface 203.0.113.10 --resolve portal.example.com:443:192.0.2.10 \
        https://portal.example.com/ || fail "end user: HTTPS over IPv4 failed"
    nsexec c "${curl[@]}" --interface 2001:db8:0:2::10 \
        --resolve 'portal.example.com:443:[2001:db8:0:1::10]' https://portal.example.com/ ||
        fail "end user: HTTPS over IPv6 failed"
    nsexec c "${curl[@]}" --interface 203.0.113.10 --resolve portal.example.com:80:192.0.2.10 \
        http://portal.example.com/ || fail "end user: HTTP failed"
    nsexec c "${curl[@]}" --interface 198.51.100.7 --resolve portal.example.com:80:192.0.2.10 \
        http://portal.example.com/ || fail "dev tool: HTTP failed"
    nsexec c python3 "$tmp/tds.py" query 192.0.2.11 192.0.2.30 1433 ||
        fail "front-end: the database exchange failed"
    attempt 192.0.2.20 192.0.2.10 12001 2.5 timeout
    attempt 192.0.2.20 192.0.2.30 1521 5 ECONNREFUSED
    attempt 192.0.2.11 192.0.2.40 443 5 EHOSTUNREACH
    attempt 2001:db8:0:1::11 2001:db8:0:1::40 443 5 EACCES
}

# What the audit must say: the findings that are not information, one line
# each, then every requirement's status.  SYN counts that depend on timing
# are given as bounds: a blocked attempt's retries (the kernel's timer,
# linear or exponential by version), and the unreachable ones, where an
# ICMP error that arrives while connect() still holds the socket is only
# noted and the SYN sent again (tcp_v4_err, tcp_v6_err).
expected_audit() {
    cat <<'EOF'
finding error blocked 192.0.2.20(controller) -> 192.0.2.10(front-end) tcp 12001 flows=1 syns>=2 detail=SYN not answered
finding error rejected 192.0.2.20(controller) -> 192.0.2.30(database) tcp 1521 flows=1 syns=1 detail=SYN answered by RST
finding error unreachable 192.0.2.11(front-end) -> 192.0.2.40(lifetime) tcp 443 flows=1 syns>=1 detail=icmp 3/13 (communication administratively prohibited) from 192.0.2.40
finding error unreachable 2001:db8:0:1::11(front-end) -> 2001:db8:0:1::40(lifetime) tcp 443 flows=1 syns>=1 detail=icmp6 1/1 (administratively prohibited) from 2001:db8:0:1::40
requirement ok end-users -> front-end tcp 80 attempts=1 failures=0
requirement ok end-users -> front-end tcp 443 attempts=2 failures=0
requirement ok dev-tools -> front-end tcp 80 attempts=1 failures=0
requirement not-observed dev-tools -> front-end tcp 443 attempts=0 failures=0
requirement ok front-end -> database tcp 1433|1521 attempts=1 failures=0
requirement failed controller -> database tcp 1433|1521 attempts=1 failures=1
requirement not-observed front-end -> controller tcp 12000 attempts=0 failures=0
requirement failed controller -> front-end tcp 12001 attempts=1 failures=1
requirement not-observed front-end -> controller tcp 5672|5671 attempts=0 failures=0
requirement not-observed localhost -> localhost tcp 80 attempts=0 failures=0
requirement not-observed controller -> front-end tcp 12002|12102 attempts=0 failures=0
requirement not-observed lifetime -> front-end tcp 443 attempts=0 failures=0
requirement failed front-end -> lifetime tcp 443 attempts=2 failures=2
requirement not-observed lifetime -> controller tcp 443 attempts=0 failures=0
requirement not-observed controller -> lifetime tcp 443 attempts=0 failures=0
requirement not-observed experience-builder -> front-end tcp 443 attempts=0 failures=0
requirement not-observed workflow-builder -> front-end tcp 443 attempts=0 failures=0
requirement not-observed workflow-builder -> lifetime tcp 443 attempts=0 failures=0
requirement not-observed lifetime -> architecture-dashboard tcp 443 attempts=0 failures=0
EOF
}

summarize_audit() {
    python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    if f["severity"] == "info":
        if f["kind"] != "not-observed":
            print("unexpected information finding", f["kind"])
        continue
    syns = "syns=%d" % f["syn_count"]
    if f["kind"] == "blocked" and f["syn_count"] >= 2:
        syns = "syns>=2"
    if f["kind"] == "unreachable" and f["syn_count"] >= 1:
        syns = "syns>=1"
    print("finding", f["severity"], f["kind"], f"{f['src']}({f['src_role']})",
          "->", f"{f['dst']}({f['dst_role']})", f["proto"], f["port"],
          "flows=%d" % f["count"], syns, "detail=%s" % (f["detail"] or "-"))
for r in d["requirements"]:
    print("requirement", r["status"], r["src_role"], "->", r["dst_role"],
          r["proto"], r["ports"] or "-", "attempts=%d" % r["attempts"],
          "failures=%d" % r["failures"])
EOF
}

# The healthy flows carry what their first bytes said: the TLS server name
# and the HTTP Host, and TDS on the database port.
check_flows() {
    "$bin" flows --db "$1" --format json >"$tmp/flows.json" || {
        fail "flows failed"
        return
    }
    python3 - "$tmp/flows.json" <<'EOF' || fail "flows: the established flows do not say what they carried"
import json, sys
flows = json.load(open(sys.argv[1]))
want = {
    ("203.0.113.10", "192.0.2.10", 443): ("tls", "portal.example.com"),
    ("2001:db8:0:2::10", "2001:db8:0:1::10", 443): ("tls", "portal.example.com"),
    ("203.0.113.10", "192.0.2.10", 80): ("http", "portal.example.com"),
    ("198.51.100.7", "192.0.2.10", 80): ("http", "portal.example.com"),
    ("192.0.2.11", "192.0.2.30", 1433): ("tds", None),
}
bad = 0
for key, (app, name) in want.items():
    got = [f for f in flows if (f["orig_h"], f["resp_h"], f["resp_p"]) == key]
    if len(got) != 1:
        print(f"flows: {len(got)} flows {key}, expected 1"); bad = 1; continue
    f = got[0]
    # Established ("Sh..."); how it closed (FIN or RST first) is the peers' race.
    if not f["history"].startswith("Sh") or f["app_proto"] != app or f["server_name"] != name:
        print(f"flows: {key}: history {f['history']} app_proto {f['app_proto']} "
              f"server_name {f['server_name']}; expected Sh... {app} {name}"); bad = 1
sys.exit(bad)
EOF
}

test_netns() {
    need_tools nft openssl curl
    write_client_py
    write_site
    setup_link || skip "cannot create a veth pair between namespaces"
    setup_firewall || fail "nft: the firewall could not be loaded"
    start_servers || return
    local db=$tmp/live.db
    start_capture c vc "$db" -q || return
    run_clients
    # Stopped at once: what the kernel captured before the signal, not yet
    # handed over (see test_stop_reads_all), is recorded all the same.
    stop_capture
    capture_said
    "$bin" audit --db "$db" --site "$tmp/site.rules" --format json >"$tmp/audit.json" \
        2>"$tmp/audit.err"
    local rc=$?
    [ "$rc" -eq 1 ] || fail "audit exited $rc, expected 1 (errors found): $(cat "$tmp/audit.err")"
    summarize_audit "$tmp/audit.json" >"$tmp/audit.got" || fail "the audit's JSON does not parse"
    expected_audit >"$tmp/audit.want"
    diff -u "$tmp/audit.want" "$tmp/audit.got" >"$tmp/audit.diff" ||
        fail "audit differs (- expected, + got):"$'\n'"$(cat "$tmp/audit.diff")"$'\n'"$("$bin" flows --db "$db")"
    check_flows "$db"
    test_stop_reads_all
}

# The kernel hands captured packets over in blocks, each when full or
# 250 ms after it was opened.  A datagram sent just before SIGTERM is in
# a block not yet handed over: the capture must still read and record it.
test_stop_reads_all() {
    local db=$tmp/stop.db
    start_capture c vc "$db" -q -f "udp port 9" || return
    nsexec c python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.10", 0))
s.sendto(b"last", ("192.0.2.10", 9))'
    stop_capture
    capture_said
    local got
    got=$(sqlite3 -separator ' ' "$db" "SELECT packets, received, dropped FROM runs;
        SELECT count(*) FROM flows WHERE orig_h = '203.0.113.10' AND resp_p = 9")
    [ "$got" = "1 1 0"$'\n'"1" ] ||
        fail "a datagram sent just before the stop: packets, received, dropped, flows are" \
            "$(echo $got), expected 1 1 0 1"
}

# ---------------------------------------------------------------------------
# replay

# The medium workload, made once and kept where bench/bench.py keeps it
# (and reused from there): about 20 s to make, 760 MB.
medium_workload() {
    local gen=$1 dir=/tmp/flowaudit-bench
    local pcap=$dir/medium.pcap
    if [ ! -s "$pcap" ]; then
        mkdir -p "$dir" || return 1
        echo "generating $pcap (about 20 s) ..." >&2
        # Renamed into place only when complete: a concurrent run or an
        # interrupted one never leaves half a file under the cached name.
        python3 "$gen" --preset medium --out "$pcap.$$" -q && mv "$pcap.$$" "$pcap" || {
            rm -f "$pcap.$$"
            return 1
        }
    fi
    echo "$pcap"
}

# cpu_ticks PID: the process's user + system time so far, in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# wait_idle PID: returns once the process has used no CPU for a second
# (it has read everything the kernel queued for it), or after 60 s.
wait_idle() {
    local before after quiet=0
    before=$(cpu_ticks "$1")
    for _ in $(seq 120); do
        sleep 0.5
        after=$(cpu_ticks "$1")
        if [ "$after" = "$before" ]; then
            quiet=$((quiet + 1))
            [ "$quiet" -ge 2 ] && return 0
        else
            quiet=0
        fi
        before=$after
    done
}

iface_stat() { # iface_stat NS IFACE COUNTER
    nsexec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# One namespace (a) replays the workload onto veth ra as fast as
# tcpreplay sends; flowaudit captures its peer rb in namespace b.  IPv6 is
# off on both and neither has an address: nothing but the replay crosses
# the link.  The MTU leaves room for the workload's largest frames.
setup_replay_link() {
    new_netns a
    new_netns b
    local ns
    for ns in a b; do
        nsexec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
    done
    ip -n "$prefix-a" link add ra mtu 9000 type veth peer name rb mtu 9000 netns "$prefix-b" ||
        return 1
    ip -n "$prefix-a" link set ra up && ip -n "$prefix-b" link set rb up
}

# replay NAME FREEZE [TCPREPLAY OPTIONS...]: one capture of one replay,
# into a database of its own; prints the figures and checks what does not
# depend on timing.  FREEZE=1 stops flowaudit (SIGSTOP) for the length of
# the replay, so that the kernel must drop what its buffer cannot hold;
# it is let go (SIGCONT) to read what is there, then stopped.
replay() {
    local name=$1 freeze=$2
    shift 2
    local db=$tmp/$name.db out=$tmp/$name.tcpreplay
    # Not quiet when frozen: flowaudit must say that the kernel dropped
    # packets.
    local quiet=-q
    [ "$freeze" = 1 ] && quiet=
    start_capture b rb "$db" $quiet || return
    [ "$freeze" = 1 ] && kill -STOP "$capture_pid"
    local t0=$SECONDS
    nsexec a tcpreplay --topspeed -i ra "$@" "$pcap" >"$out" 2>&1 ||
        fail "$name: tcpreplay failed: $(tail -5 "$out")"
    local replay_s=$((SECONDS - t0))
    [ "$freeze" = 1 ] && kill -CONT "$capture_pid"
    wait_idle "$capture_pid"
    local rx_dropped tx_dropped
    rx_dropped=$(iface_stat b rb rx_dropped)
    tx_dropped=$(iface_stat a ra tx_dropped)
    stop_capture

    local sent failed row packets received dropped if_dropped flows evicted
    sent=$(awk '/Successful packets:/ { print $3 }' "$out")
    failed=$(awk '/Failed packets:/ { print $3 }' "$out")
    row=$(sqlite3 -separator ' ' "$db" \
        'SELECT packets, received, dropped, if_dropped, flows, evicted FROM runs')
    read -r packets received dropped if_dropped flows evicted <<<"$row"
    echo "$name: $(grep -m1 '^Actual:' "$out")"
    echo "  tcpreplay: sent $sent, failed $failed, in about ${replay_s} s"
    echo "  libpcap:   received $received (the dropped included), dropped $dropped," \
        "interface dropped $if_dropped"
    echo "  flowaudit: read $packets, unread at stop $((received - dropped - packets))," \
        "flows $flows, evicted $evicted"
    echo "  veth:      rb rx_dropped $rx_dropped, ra tx_dropped $tx_dropped"

    [ -n "$sent" ] && [ "$sent" -gt 0 ] || {
        fail "$name: tcpreplay sent nothing: $(tail -5 "$out")"
        return
    }
    [ "$failed" = 0 ] || fail "$name: tcpreplay could not send $failed packets"
    [ -n "$received" ] || {
        fail "$name: the run has no libpcap counts: $row"
        return
    }
    # Every frame sent reaches the capture socket (counted in received,
    # dropped or not) or was dropped by the veth pair on the way; nothing
    # is received that was not sent, but for a few frames of the
    # namespaces' own (none expected: no addresses, no IPv6).  The veth
    # drops are summed over both ends, which may count one drop twice: a
    # bound, not a figure.
    [ $((received + rx_dropped + tx_dropped)) -ge "$sent" ] ||
        fail "$name: packets unaccounted for: sent $sent, received $received," \
            "veth drops $((rx_dropped + tx_dropped))"
    [ "$received" -le $((sent + 16)) ] ||
        fail "$name: received $received, more than the $sent sent and a few of the link's own"
    [ $((packets + dropped)) -le "$received" ] ||
        fail "$name: flowaudit read $packets and libpcap dropped $dropped:" \
            "more than the $received received"
    [ "$packets" -gt 0 ] && [ "$flows" -gt 0 ] ||
        fail "$name: nothing recorded: $packets packets, $flows flows"
    if [ "$freeze" = 1 ]; then
        [ "$dropped" -gt 0 ] ||
            fail "$name: flowaudit was stopped for the whole replay, yet libpcap reports no drop"
        capture_said "flowaudit: rb: the kernel dropped $dropped packets"
    else
        capture_said
    fi
}

test_replay() {
    need_tools tcpreplay
    [ -n "$shared" ] || skip "no shared folder (../shared) was given (FA_SHARED_DIR names it)"
    [ -d "$shared" ] || skip "the shared folder $shared (../shared) was not found"
    local gen=$shared/bench/genpcap.py
    [ -f "$gen" ] || skip "no workload generator at $gen"
    pcap=$(medium_workload "$gen") || {
        fail "cannot generate the medium workload"
        return
    }
    setup_replay_link || skip "cannot create a veth pair between namespaces"
    # The whole workload at tcpreplay's full speed: what the kernel drops
    # is what flowaudit did not read in time.
    replay full-speed 0
    # A capture that cannot keep up: 300,000 packets (about 130 MB in the
    # ring, with its headers) against a 32 MB buffer while flowaudit is
    # stopped.  The drops must show in the run's counts.
    replay frozen 1 --limit=300000
}

case $group in
netns) test_netns ;;
replay) test_replay ;;
*)
    echo "live.sh: unknown group '$group'" >&2
    exit 2
    ;;
esac
check_removed
finish "$group"

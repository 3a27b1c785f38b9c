#!/bin/bash
# End-to-end tests of `check`, `audit` and `report` on the sample captures,
# with the sample site file and the built-in matrix.
#
# For each scenario the exact findings (severity, kind, hosts and roles,
# protocol, port, flows, SYNs, detail, rule) and the requirement statuses
# are compared with tests/expected/audit/NAME.txt, and the exit status
# with what --fail-on says.
#
# Usage: e2e_audit.sh FLOWAUDIT SCENARIO
set -uo pipefail
. "$(dirname "$0")/lib.sh"

bin=$1
scenario=$2
here=$(cd "$(dirname "$0")" && pwd)
samples=$here/../samples
expected=$here/expected/audit
site=$samples/site.rules
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# summarize JSON: one line per finding that is not information, then one
# line per requirement, in report order.
summarize() {
    python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    if f["severity"] == "info":
        continue
    print("finding", f["severity"], f["kind"], f"{f['src']}({f['src_role']})",
          "->", f"{f['dst']}({f['dst_role']})", f["proto"], f["port"],
          "flows=%d" % f["count"], "syns=%d" % f["syn_count"],
          "detail=%s" % (f["detail"] or "-"), "rule=%s" % (f["rule"] or "-"))
for r in d["requirements"]:
    print("requirement", r["status"], r["rule"], r["src_role"], "->", r["dst_role"],
          r["proto"], r["ports"] or "-", "attempts=%d" % r["attempts"],
          "failures=%d" % r["failures"])
EOF
}

# check_scenario NAME STATUS CAPTURE...: check exits with STATUS and finds
# exactly what the expected file says.
check_scenario() {
    local name=$1 want=$2
    shift 2
    "$bin" check -q --db "$tmp/$name.db" --site "$site" --format json "$@" \
        >"$tmp/$name.json" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$name: exit status $rc, expected $want: $(cat "$tmp/err")"
    [ -s "$tmp/err" ] && fail "$name: unexpected stderr: $(cat "$tmp/err")"
    summarize "$tmp/$name.json" >"$tmp/$name.got" || {
        fail "$name: the JSON report does not parse"
        return
    }
    diff -u "$expected/$name.txt" "$tmp/$name.got" >"$tmp/diff" ||
        fail "$name: findings differ (- expected, + got):"$'\n'"$(cat "$tmp/diff")"
}

# The audit is stored: `report` prints it again, in every format, without
# re-reading the capture; `audit` on the same database gives the same.
test_stored() {
    local db=$tmp/stored.db
    "$bin" check -q --db "$db" --site "$site" "$samples/db-blocked.pcap" >"$tmp/check.txt"
    [ $? -eq 1 ] || fail "stored: check did not exit 1"
    local fmt
    for fmt in text markdown html json; do
        "$bin" report --db "$db" --format "$fmt" -o "$tmp/r.$fmt" ||
            fail "stored: report --format $fmt failed"
    done
    cmp -s "$tmp/check.txt" "$tmp/r.text" || fail "stored: report differs from what check printed"
    summarize "$tmp/r.json" >"$tmp/stored.got" && diff -q "$expected/db-blocked.txt" \
        "$tmp/stored.got" >/dev/null || fail "stored: report --format json differs"
    grep -q '<!DOCTYPE html>' "$tmp/r.html" || fail "stored: html report has no doctype"
    "$bin" audit --db "$db" --site "$site" --format json >"$tmp/audit.json"
    [ $? -eq 1 ] || fail "stored: audit did not exit 1"
    summarize "$tmp/audit.json" >"$tmp/audit.got" &&
        diff -q "$expected/db-blocked.txt" "$tmp/audit.got" >/dev/null ||
        fail "stored: a second audit differs"
    [ "$(sql "$db" 'SELECT count(*) FROM audits')" = 2 ] || fail "stored: audits not recorded"
    "$bin" report --db "$db" --audit 1 --format json >/dev/null || fail "stored: report --audit 1"
}

# A site that narrows the DNS servers and sets a tight database threshold:
# the healthy capture's name lookup becomes unexpected traffic and its
# database handshake (0.17 ms) slow.  Both are warnings: status 0 by
# default, 1 with --fail-on warning.
test_variants() {
    grep -v '^role dns-server' "$site" >"$tmp/variant.rules"
    printf 'role dns-server 192.0.2.54\nset slow-handshake database 100us\n' >>"$tmp/variant.rules"
    site=$tmp/variant.rules check_scenario variants 0 "$samples/healthy.pcap"
    "$bin" check -q --db "$tmp/v2.db" --site "$tmp/variant.rules" --fail-on warning \
        "$samples/healthy.pcap" >/dev/null
    [ $? -eq 1 ] || fail "variants: --fail-on warning did not exit 1"
}

# Roles by name, with a matrix of its own: a role known only by a
# wildcard name (in another case than the wire's) holds the responders
# whose flows carry a matching server name; it never holds an originator;
# a flow no rule allows, to a host a role names by name, shows the role;
# plain HTTP to the role's TLS port is a protocol mismatch.
test_names_roles() {
    cat >"$tmp/names-matrix.rules" <<'RULES'
role users 203.0.113.0/24
role portal name:*.EXAMPLE.com
require users -> portal tcp/443 "Portal over HTTPS" app=tls
require portal -> any tcp "A name never names the side that connects"
RULES
    printf '# nothing to add\n' >"$tmp/names-site.rules"
    # Findings name the rule file as given: relative, so the same every run.
    cd "$tmp" || return
    site=names-site.rules check_scenario names-roles 0 --matrix names-matrix.rules \
        "$samples/names.pcap"
}

# --fail-on decides the exit status; bad rules are refused before reading.
test_fail_on() {
    "$bin" check -q --db "$tmp/f1.db" --site "$site" --fail-on never \
        "$samples/db-blocked.pcap" >/dev/null
    [ $? -eq 0 ] || fail "fail-on never: exit status not 0"
    # A clean capture passes even --fail-on warning.
    "$bin" check -q --db "$tmp/f2.db" --site "$site" --fail-on warning \
        "$samples/healthy.pcap" >/dev/null
    [ $? -eq 0 ] || fail "fail-on warning: healthy is not clean"
    printf 'role front-end 192.0.2.10\nrequire front-end -> dtabase tcp/1433 "x"\n' >"$tmp/bad.rules"
    "$bin" check -q --db "$tmp/f3.db" --site "$tmp/bad.rules" "$samples/healthy.pcap" \
        >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "bad site: exit status not 2"
    grep -q "bad.rules:2:" "$tmp/err" || fail "bad site: no file:line in: $(cat "$tmp/err")"
    [ -e "$tmp/f3.db" ] && fail "bad site: the capture was read although the rules are bad"
    "$bin" check -q --db "$tmp/f4.db" "$samples/healthy.pcap" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "no site: exit status not 2"
    "$bin" check -q --db "$tmp/f5.db" --site "$site" --fail-on sometimes \
        "$samples/healthy.pcap" >/dev/null 2>&1
    [ $? -eq 2 ] || fail "bad --fail-on: exit status not 2"
    "$bin" report --db "$tmp/f2.db" --audit 99 -o "$tmp/none.html" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "report of a missing audit: exit status not 2"
    [ -e "$tmp/none.html" ] && fail "report of a missing audit created its output file"
    printf 'role front-end 192.0.2.10\0\nrole database 192.0.2.30\n' >"$tmp/nul.rules"
    "$bin" check -q --db "$tmp/f6.db" --site "$tmp/nul.rules" "$samples/healthy.pcap" \
        >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "NUL in a rule file: exit status not 2"
    grep -q "nul.rules:1:26: NUL byte" "$tmp/err" || fail "NUL in a rule file: $(cat "$tmp/err")"
    # A mistyped database or run would otherwise audit clean.
    "$bin" audit --db "$tmp/typo.db" --site "$site" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "audit of a missing database: exit status not 2"
    [ -e "$tmp/typo.db" ] && fail "audit of a missing database created it"
    "$bin" audit --db "$tmp/f2.db" --site "$site" --run 99 >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "audit of a missing run: exit status not 2"
}

# An audit that fails part way leaves nothing behind: a trigger makes the
# store refuse the first blocked finding.
test_atomic() {
    local db=$tmp/atomic.db
    "$bin" read -q --db "$db" "$samples/db-blocked.pcap" || fail "atomic: read failed"
    sql "$db" "CREATE TRIGGER refuse BEFORE INSERT ON findings WHEN NEW.kind = 'blocked'
                   BEGIN SELECT RAISE(ABORT, 'refused'); END"
    "$bin" audit --db "$db" --site "$site" >/dev/null 2>"$tmp/err"
    [ $? -eq 2 ] || fail "atomic: a failed audit did not exit 2"
    [ "$(sql "$db" 'SELECT count(*) FROM audits')" = 0 ] ||
        fail "atomic: the failed audit was stored"
    [ "$(sql "$db" 'SELECT count(*) FROM requirements')" = 0 ] ||
        fail "atomic: the failed audit's requirements were stored"
}

case $scenario in
healthy) check_scenario healthy 0 "$samples/healthy.pcap" ;;
db-blocked) check_scenario db-blocked 1 "$samples/db-blocked.pcap" ;;
closed-port) check_scenario closed-port 1 "$samples/closed-port.pcap" ;;
icmp-prohibited) check_scenario icmp-prohibited 1 "$samples/icmp-prohibited.pcap" ;;
ipv6) check_scenario ipv6 1 "$samples/ipv6.pcap" ;;
vlan) check_scenario vlan 0 "$samples/vlan.pcap" ;;
linux-sll) check_scenario linux-sll 0 "$samples/linux-sll.pcap" ;;
# Path MTU discovery is no failure; LifeTime is judged by LifeTime's rule,
# not the end users'; a lone SYN at the end of the capture is not blocked.
edges) check_scenario edges 1 "$samples/edges.pcap" ;;
variants) test_variants ;;
# LifeTime's SYNs to the address DNS gave architecture.outsystems.com go
# unanswered: the Architecture Dashboard rule, matched by name, fails.
architecture-blocked) check_scenario architecture-blocked 0 "$samples/architecture-blocked.pcap" ;;
# First bytes: plain HTTP on a front-end's 443 is a protocol mismatch; TDS
# and TNS to the database are what its port should carry.
names) check_scenario names 0 "$samples/names.pcap" ;;
names-roles) test_names_roles ;;
stored) test_stored ;;
atomic) test_atomic ;;
fail-on) test_fail_on ;;
*)
    echo "e2e_audit.sh: unknown scenario $scenario" >&2
    exit 2
    ;;
esac
finish "$scenario"

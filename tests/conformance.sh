#!/bin/bash
# Conformance with Zeek: read each trace of the public corpus in
# ../shared/corpus/zeek, export a conn.log and score conn_state against the
# one Zeek wrote.  Tunnel cases are skipped (flowaudit does not decapsulate).
# Where Zeek verified checksums (no -C), flowaudit verifies them too.
# Usage: conformance.sh FLOWAUDIT SHARED_DIR
set -euo pipefail
bin=$1
corpus=$2/corpus/zeek
if [ ! -f "$corpus/score_conn.py" ]; then
    echo "SKIPPED: the Zeek corpus is not at $corpus (../shared is absent from this clone)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run="v=--verify-checksums; [ -n '{C}' ] && v=; \
'$bin' read -q \$v --db '$tmp/{name}.db' {pcap} && \
'$bin' export --db '$tmp/{name}.db' --format zeek -o {out}"
python3 "$corpus/score_conn.py" --dir "$corpus" --skip-tag tunnel --timeout 120 \
    --min-agreement 95 --run "$run"

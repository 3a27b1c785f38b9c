#!/bin/bash
# Robustness: every capture of ../shared/corpus/malformed is read without a
# crash, a hang or a sanitizer report; a file libpcap cannot open ends with
# status 2 and one error line naming it; every other file ends with 0.
# Usage: robustness.sh FLOWAUDIT SHARED_DIR
set -uo pipefail
bin=$1
corpus=$2/corpus/malformed
if [ ! -x "$corpus/robustness.sh" ] && [ ! -f "$corpus/robustness.sh" ]; then
    echo "SKIPPED: the malformed corpus is not at $corpus (../shared is absent from this clone)"
    exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash "$corpus/robustness.sh" -d "$corpus" -j 2 -t 30 "'$bin' read -q --db {tmp}/x.db {pcap}" >"$log"
rc=$?
tail -n 1 "$log"
[ $rc -eq 0 ] || { grep -E 'crashed=yes|timeout=yes' "$log"; exit 1; }

# Exit status against what libpcap makes of the file header.
bad=0
while IFS=$'\t' read -r file _ opens _; do
    [ "$file" = file ] && continue
    want=0
    [ "$opens" = no ] && want=2
    got=$(awk -F'\t' -v f="$file" '$1 == f { sub("exit=", "", $2); print $2 }' "$log")
    if [ "$got" != "$want" ]; then
        echo "$file: exit status $got, expected $want"
        bad=1
    fi
done <"$corpus/index.tsv"

# One error line, naming the file.
f=$(awk -F'\t' '$3 == "no" { print $1; exit }' "$corpus/index.tsv")
out=$("$bin" read -q --db "$(mktemp -u)" "$corpus/$f" 2>&1 >/dev/null)
if [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || [[ "$out" != *"$f"* ]]; then
    echo "error for $f is not one line naming the file: $out"
    bad=1
fi
exit $bad

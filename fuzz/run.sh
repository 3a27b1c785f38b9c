#!/bin/bash
# fuzz/run.sh [SECONDS] - builds the libFuzzer targets (build-fuzz, clang,
# ASan and UBSan), writes their seed corpora and fuzzes each target for
# SECONDS (default 20), one after the other on one core.
#
# Inputs that find new coverage are kept in build-fuzz/fuzz-corpus/<target>/
# for the next run; crash, leak, timeout and out-of-memory inputs go to
# build-fuzz/fuzz-crashes/<target>/.  Exits 1, naming the target and the
# input, when any target found one; 2 when the build fails.  Needs no root.
#
# Environment: FA_SHARED_DIR (default ../shared) for the seed captures,
# FA_FUZZ_BUILD (default build-fuzz) for the build folder, FA_FUZZ_TARGETS
# (default all) for the targets to run,
# FA_JOBS (default 2) for the build.  A crash becomes a regression test by
# copying its (minimized) input to tests/fuzz-regress/<target>/ once fixed:
#   build-fuzz/fuzz/fuzz_x -minimize_crash=1 -runs=100000 CRASH
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
case $seconds in
'' | *[!0-9]*)
    echo "fuzz/run.sh: '$seconds' is not a number of seconds; usage: fuzz/run.sh [SECONDS]" >&2
    exit 2
    ;;
esac
build=${FA_FUZZ_BUILD:-build-fuzz}
targets="${FA_FUZZ_TARGETS:-fuzz_decode fuzz_flow fuzz_streams fuzz_rules fuzz_tls fuzz_http fuzz_dns fuzz_tds fuzz_tns}"

if ! CC=clang cmake -S . -B $build -DFA_FUZZ=ON >/dev/null ||
    ! cmake --build $build -j"${FA_JOBS:-2}" >/dev/null; then
    echo "fuzz/run.sh: the build in $build failed; run the two cmake commands above to see why" >&2
    exit 2
fi
rm -rf $build/fuzz-seeds
python3 fuzz/seeds.py --shared "${FA_SHARED_DIR:-../shared}" $build/fuzz-seeds || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=0
for t in $targets; do
    corpus=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t log=$build/fuzz-$t.log
    mkdir -p "$corpus" "$crashes"
    dict=fuzz/dict/${t#fuzz_}.dict
    [ -f "$dict" ] && dict_opt=-dict=$dict || dict_opt=
    before=$(ls "$crashes" | wc -l)
    $build/fuzz/$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $dict_opt -artifact_prefix="$crashes/" "$corpus" $build/fuzz-seeds/$t >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    echo "fuzz/run.sh: $t: ${runs:-?} runs (at most ${seconds} s), $cov"
    if [ $rc -ne 0 ]; then
        failed=1
        found=$(ls -t "$crashes" | head -1)
        if [ "$(ls "$crashes" | wc -l)" -gt "$before" ] && [ -n "$found" ]; then
            echo "fuzz/run.sh: $t found a crash, leak or timeout: $crashes/$found (log: $log)" >&2
        else
            echo "fuzz/run.sh: $t failed with status $rc (log: $log)" >&2
        fi
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*check failed)' "$log" | head -3 >&2
    fi
done
exit $failed

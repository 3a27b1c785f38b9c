# shellcheck shell=bash
# lib.sh - helpers the shell tests share; sourced, never run.
#
# A test counts its failures in $failures, prints one "FAIL: ..." line for
# each, and ends with `finish`, which exits 1 when there was any; a test
# that cannot run here (not root, a tool or ../shared missing) says why in
# one "SKIPPED: ..." line and exits 77, which ctest reports as skipped.
#
# fa and expect_error run "$bin" and keep its output in "$tmp": a test sets
# both before using them.

failures=0

# The flows the writer commits in one transaction: FA_WRITER_BATCH in
# src/writer.h, which this must equal.
# shellcheck disable=SC2034 # used by the tests that source this
writer_batch=4096

# The hint main.c prints after a usage error, below the error line.
usage_hint="Run 'flowaudit help' for usage."

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# sql DB QUERY
sql() {
    sqlite3 -batch "$1" "$2"
}

skip() {
    echo "SKIPPED: $*"
    exit 77
}

# need_root WHAT [WHY]: skips unless run as root ("WHAT needs root (WHY)").
need_root() {
    [ "$(id -u)" -eq 0 ] || skip "$1 needs root${2:+ ($2)}"
}

# need_tools COMMAND...: skips unless every COMMAND is installed.
need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps installs it)"
    done
}

# finish NAME: the script's last command: "NAME: all checks passed" and
# status 0, or how many checks failed and status 1.
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$1: $failures check(s) failed"
        exit 1
    fi
    echo "$1: all checks passed"
}

# fa ARGS...: runs the binary; stdout in $tmp/out, stderr in $tmp/err,
# status in $rc.
# shellcheck disable=SC2154 # bin and tmp: set by the test
fa() {
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# one_line CMD NEEDLE...: $tmp/err is exactly one line (besides the usage
# hint) starting "flowaudit: " and holding every NEEDLE; 1 if it is not.
one_line() {
    local cmd=$1 line n
    shift
    line=$(grep -vxF "$usage_hint" "$tmp/err")
    if [ "$(printf '%s' "$line" | grep -c '')" -ne 1 ] || [[ "$line" != "flowaudit: "* ]]; then
        fail "$cmd: stderr is not one 'flowaudit: ' line:"
        sed 's/^/    /' "$tmp/err"
        return 1
    fi
    for n in "$@"; do
        [[ "$line" == *"$n"* ]] || fail "$cmd: the line does not say '$n': $line"
    done
}

# expect_error NEEDLE... -- ARGS...: `fa ARGS...` exits 2, writes nothing
# on stdout, and on stderr one line with every NEEDLE (see one_line).
expect_error() {
    local needles=()
    while [ "$1" != "--" ]; do
        needles+=("$1")
        shift
    done
    shift
    fa "$@"
    local cmd="flowaudit $*"
    check_eq "$cmd: exit status" 2 "$rc"
    [ -s "$tmp/out" ] && fail "$cmd: wrote to stdout: $(head -c 200 "$tmp/out")"
    one_line "$cmd" "${needles[@]}"
}

# lib.sh - helpers the shell tests share; sourced, never run.
#
# A test counts its failures in $failures, prints one "FAIL: ..." line for
# each, and exits 1 at the end when there was any; a test that cannot run
# here (not root, a tool or ../shared missing) says why in one
# "SKIPPED: ..." line and exits 77, which ctest reports as skipped.

failures=0

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

#!/bin/sh
# tests/check.sh MODE - run one build's test suites.
#   unit      the C unit tests (tests/unit/test_*.c)
#   pytest    end-to-end and conformance suites (tests/**/test_*.py)
#   all       unit, then pytest
#   valgrind  unit tests and a batch verification of every corpus under valgrind
# Environment: MAILTEST_BINDIR (bin), MAILTEST_TESTBIN (build/tests),
# MAILTEST_SAN=1 for the sanitizer build, MAILTEST_CONFORMANCE (../shared/conformance),
# MAILTEST_JOBS: pytest processes (pytest-xdist, one test file per process;
# default 4, as the suites mostly wait on sockets and timers; 1: no xdist).
set -eu
cd "$(dirname "$0")/.."
: "${MAILTEST_BINDIR:=bin}"
: "${MAILTEST_TESTBIN:=build/tests}"
: "${MAILTEST_CONFORMANCE:=$(cd .. && pwd)/shared/conformance}"
: "${PYTHON:=/usr/bin/python3}"
export MAILTEST_BINDIR MAILTEST_TESTBIN MAILTEST_CONFORMANCE
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

label="normal build"
: "${MAILTEST_JOBS:=4}"
jobs=""
if [ "$MAILTEST_JOBS" -gt 1 ] && "$PYTHON" -c 'import xdist' 2>/dev/null; then
	jobs="-n $MAILTEST_JOBS --dist loadfile"
fi
[ "${MAILTEST_SAN:-0}" = 1 ] && label="ASan+UBSan build"

run_unit() {
	echo "== unit tests ($label)"
	fails=0
	for t in "$MAILTEST_TESTBIN"/test_*; do
		[ -x "$t" ] || continue
		if ! ${MAILTEST_WRAPPER:-} "$t"; then
			echo "FAILED: $t"
			fails=$((fails + 1))
		fi
	done
	[ "$fails" = 0 ] || { echo "$fails unit test program(s) failed"; exit 1; }
}

run_pytest() {
	echo "== end-to-end and conformance suites ($label)"
	"$PYTHON" -m pytest -q -p no:cacheprovider $jobs ${PYTEST_ARGS:-} tests
}

run_valgrind() {
	echo "== valgrind pass"
	MAILTEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --suppressions=$(pwd)/tests/valgrind.supp"
	export MAILTEST_WRAPPER
	run_unit
	# valgrind is CPU-bound: no more processes than this machine has cores
	vjobs=""
	if [ -n "$jobs" ]; then
		n=$(nproc 2>/dev/null || echo 2)
		[ "$n" -gt "$MAILTEST_JOBS" ] && n=$MAILTEST_JOBS
		[ "$n" -gt 1 ] && vjobs="-n $n --dist loadfile"
	fi
	"$PYTHON" -m pytest -q -p no:cacheprovider $vjobs -m valgrind tests
}

case "${1:-all}" in
unit)		run_unit ;;
pytest)		run_pytest ;;
all)		run_unit; run_pytest ;;
valgrind)	run_valgrind ;;
*)		echo "usage: $0 unit|pytest|all|valgrind" >&2; exit 2 ;;
esac

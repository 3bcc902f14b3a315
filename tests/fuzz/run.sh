#!/bin/sh
# tests/fuzz/run.sh MODE - run the libFuzzer targets built by `make fuzz-build`.
#   probe CC  exit 0 when CC can build and link a libFuzzer program
#   smoke     each target FUZZ_SECONDS (5) on a scratch copy of its seed
#             corpus; fails on any crash, leak, sanitizer report or timeout
#   long      each target FUZZ_SECONDS (600) on build-fuzz/corpus/NAME (kept
#             between runs) plus its seeds; crashes go to build-fuzz/artifacts/NAME/
#   coverage  line coverage of the code under test by each corpus (llvm-cov;
#             make fuzz-coverage builds build-fuzz/cov/ first)
# Both print a table: executions, coverage (libFuzzer's cov: edges, ft:
# features), corpus size and peak RSS per target, also kept in
# build-fuzz/summary-MODE.txt; logs are build-fuzz/logs/MODE-NAME.log.
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS, FUZZ_JOBS (targets at
# once, default 1), FUZZ_TARGETS ("msg dns_answer": a subset; default all).
# Per-target libFuzzer flags (-max_len=...) are in tests/fuzz/NAME.options,
# the dictionary in tests/fuzz/NAME.dict; see tests/fuzz/README.md.
set -eu
cd "$(dirname "$0")/../.."
: "${FUZZ_BUILD:=build-fuzz}"
: "${FUZZ_JOBS:=1}"
: "${FUZZ_TARGETS:=}"

# Limits for every target: a slow input (> 10 s) or a run above 1 GiB RSS,
# or one allocation above 256 MiB, counts as a crash.
COMMON_OPTS="-print_final_stats=1 -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"

probe() {
	d=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	    > "$d/p.c"
	rc=0
	"$1" -fsanitize=fuzzer,address,undefined -o "$d/p" "$d/p.c" >/dev/null 2>&1 || rc=1
	rm -rf "$d"
	return $rc
}

targets() {
	if [ -n "$FUZZ_TARGETS" ]; then
		for t in $FUZZ_TARGETS; do echo "${t#fuzz_}"; done
	else
		for f in tests/fuzz/fuzz_*.c; do
			[ -e "$f" ] || continue
			f=${f##*/}
			f=${f#fuzz_}
			echo "${f%.c}"
		done
	fi
}

# run_one MODE NAME: one libFuzzer run; its exit status goes to logs/MODE-NAME.rc
run_one() {
	mode=$1 name=$2
	bin=$FUZZ_BUILD/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	log=$FUZZ_BUILD/logs/$mode-$name.log
	art=$FUZZ_BUILD/artifacts/$name/
	if [ "$mode" = smoke ]; then
		work=$FUZZ_BUILD/smoke/$name
		rm -rf "$work"
	else
		work=$FUZZ_BUILD/corpus/$name
	fi
	mkdir -p "$work" "$art" "$seeds"
	opts="$COMMON_OPTS -max_total_time=$FUZZ_SECONDS -artifact_prefix=$art"
	[ -f "tests/fuzz/$name.dict" ] && opts="$opts -dict=tests/fuzz/$name.dict"
	[ -f "tests/fuzz/$name.options" ] &&
	    opts="$opts $(grep -v '^#' "tests/fuzz/$name.options" | tr '\n' ' ')"
	rc=0
	# shellcheck disable=SC2086
	"$bin" $opts "$work" "$seeds" >"$log" 2>&1 || rc=$?
	echo "$rc" >"$FUZZ_BUILD/logs/$mode-$name.rc"
}

# row NAME LOG RC: one line of the summary table
row() {
	awk -v name="$1" -v rc="$3" '
	/^stat::number_of_executed_units:/ { execs = $2 }
	/^stat::average_exec_per_sec:/ { eps = $2 }
	/^stat::new_units_added:/ { added = $2 }
	/^stat::peak_rss_mb:/ { rss = $2 }
	/ cov: [0-9]+ ft: [0-9]+/ {
		for (i = 1; i <= NF; i++) {
			if ($i == "cov:") cov = $(i + 1)
			if ($i == "ft:") ft = $(i + 1)
			if ($i == "corp:") { corp = $(i + 1); sub("/.*", "", corp) }
		}
	}
	/Test unit written to/ { art = $NF }
	END {
		res = rc == 0 ? "ok" : "CRASH"
		printf "%-16s %-6s %12s %8s %6s %7s %7s %6s %7s %s\n", name, res,
		    execs == "" ? "-" : execs, eps == "" ? "-" : eps,
		    cov == "" ? "-" : cov, ft == "" ? "-" : ft,
		    corp == "" ? "-" : corp, added == "" ? "-" : added,
		    rss == "" ? "-" : rss, art
	}' "$2"
}

run_all() {
	mode=$1
	mkdir -p "$FUZZ_BUILD/logs"
	names=$(targets)
	[ -n "$names" ] || { echo "no fuzz targets"; return 1; }
	for n in $names; do
		[ -x "$FUZZ_BUILD/fuzz/fuzz_$n" ] ||
		    { echo "$FUZZ_BUILD/fuzz/fuzz_$n is not built (make fuzz-build)"; return 1; }
	done
	echo "== fuzz $mode: $FUZZ_SECONDS s per target, $FUZZ_JOBS at a time"
	running=""
	count=0
	for n in $names; do
		echo "   fuzz_$n ..."
		run_one "$mode" "$n" &
		running="$running $!"
		count=$((count + 1))
		if [ "$count" -ge "$FUZZ_JOBS" ]; then
			for p in $running; do wait "$p" || true; done
			running=""
			count=0
		fi
	done
	for p in $running; do wait "$p" || true; done

	summary=$FUZZ_BUILD/summary-$mode.txt
	failed=0
	{
		printf "%-16s %-6s %12s %8s %6s %7s %7s %6s %7s %s\n" target result \
		    execs exec/s cov ft corpus new rss_mb artifact
		for n in $names; do
			rc=$(cat "$FUZZ_BUILD/logs/$mode-$n.rc")
			row "fuzz_$n" "$FUZZ_BUILD/logs/$mode-$n.log" "$rc"
		done
	} >"$summary"
	for n in $names; do
		rc=$(cat "$FUZZ_BUILD/logs/$mode-$n.rc")
		if [ "$rc" != 0 ]; then
			failed=$((failed + 1))
			echo "--- fuzz_$n failed (exit $rc); the end of $FUZZ_BUILD/logs/$mode-$n.log:"
			grep -v '^stat::' "$FUZZ_BUILD/logs/$mode-$n.log" | tail -n 40
		fi
	done
	cat "$summary"
	if [ "$failed" != 0 ]; then
		echo "fuzz $mode: $failed target(s) crashed; reproduce with" \
		    "$FUZZ_BUILD/fuzz/fuzz_NAME ARTIFACT (tests/fuzz/README.md)"
		return 1
	fi
	echo "fuzz $mode: all targets ran without a crash"
}

# coverage: run each corpus through build-fuzz/cov/fuzz_NAME (built by make
# fuzz-coverage) and print llvm-cov's line and region coverage of the files
# named on the "# covers:" line of tests/fuzz/NAME.options.
coverage() {
	: "${LLVM_PROFDATA:=llvm-profdata}"
	: "${LLVM_COV:=llvm-cov}"
	d=$FUZZ_BUILD/cov
	for n in $(targets); do
		files=$(sed -n 's/^# covers: *//p' "tests/fuzz/$n.options" 2>/dev/null)
		mkdir -p "$FUZZ_BUILD/corpus/$n"
		rm -f "$d/$n.profraw"
		LLVM_PROFILE_FILE="$d/$n.profraw" "$d/fuzz_$n" -runs=0 \
		    "$FUZZ_BUILD/corpus/$n" "tests/fuzz/corpus/$n" >"$d/$n.log" 2>&1 ||
		    { echo "fuzz_$n failed on its corpus: $d/$n.log"; return 1; }
		"$LLVM_PROFDATA" merge -sparse -o "$d/$n.profdata" "$d/$n.profraw"
		inputs=$(grep -o 'INITED.*corp: [0-9]*' "$d/$n.log" | sed 's/.*corp: //')
		echo "== fuzz_$n: ${inputs:-?} inputs (build-fuzz/corpus/$n + seeds)"
		# shellcheck disable=SC2086
		"$LLVM_COV" report "$d/fuzz_$n" -instr-profile="$d/$n.profdata" $files |
		    awk -v pfx="$(pwd)/" '
			NR == 1 { printf "   %-24s %9s %9s %7s %7s %9s\n", "file", "regions",
			    "functions", "lines", "missed", "lines%"; next }
			/^-/ { next }
			{ f = $1; sub(pfx, "", f)
			  printf "   %-24s %9s %9s %7s %7s %9s\n", f, $4, $7, $8, $9, $10 }'
	done
}

case "${1:-}" in
probe)	probe "${2:-clang}" ;;
coverage) coverage ;;
smoke)	: "${FUZZ_SECONDS:=5}"; run_all smoke ;;
long)	: "${FUZZ_SECONDS:=600}"; run_all long ;;
*)	echo "usage: $0 probe CC | smoke | long" >&2; exit 2 ;;
esac

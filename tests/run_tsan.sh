#!/usr/bin/env bash
# The tests that run several threads, under ThreadSanitizer (docs/install.md,
# "Sanitizers and fuzzing"): what CI runs.
#
#   tests/run_tsan.sh [BUILD_DIR]
#
# BUILD_DIR (default build-tsan) is configured with `cmake --preset tsan` if it
# is not.  Only the test binaries below are built (with the libraries, spikeem
# and learn_regression that they need), not the whole tree: the rest of the
# suite runs one thread and is left to the asan build.  test_threads and
# test_interrupt run whole; of the others, the test cases that compare thread
# counts (their names say "thread") or that start spikeem on all cores.
#
# tests/tsan.supp suppresses the reports that come from TBB's own task
# hand-offs (Debian's libtbb is not built with TSan; the file gives the
# reasons).  With SPIKEEM_TSAN_TBB=DIR, a folder holding a libtbb.so.12 built
# with -fsanitize=thread, the tests load that one instead and nothing is
# suppressed: the full check (docs/install.md).  Any other report is a finding: halt_on_error stops the program,
# and every report, also those of the spikeem processes that the tests start,
# is kept in BUILD_DIR/tsan-logs/ and printed here.  Exits non-zero on a
# failed test or on any report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-tsan}
# binary: doctest test-case filter
runs=(
  "test_threads:*"
  "test_interrupt:*"
  "test_adex:*thread*"
  "test_lif_cond_exp:*thread*"
  "test_per_neuron_models:*thread*"
  "test_istdp:*thread*"
  "test_poisson_input:*thread*"
  "test_eq1_protocol:*thread*"
  "test_gradcheck:*thread*"
  "test_parzen:*thread*"
  "test_vem:*thread*"
  "test_vem_spiking:*thread*"
  "test_cli:*thread*"
  "test_recorders:*thread*"
  "test_stdp_curve:*thread*"
  "test_drift:spikeem drift*"
)
targets=()
for r in "${runs[@]}"; do targets+=("${r%%:*}"); done

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset tsan -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" --target "${targets[@]}"

logs=$build/tsan-logs
rm -rf "$logs" && mkdir -p "$logs"
# second_deadlock_stack: both stacks of a lock-order report.  A caller's
# TSAN_OPTIONS come last and win (halt_on_error=0 lists every report).
supp="suppressions=$root/tests/tsan.supp"
if [ -n "${SPIKEEM_TSAN_TBB:-}" ]; then
  [ -e "$SPIKEEM_TSAN_TBB/libtbb.so.12" ] || { echo "no libtbb.so.12 in $SPIKEEM_TSAN_TBB" >&2; exit 2; }
  tbb=$(cd "$SPIKEEM_TSAN_TBB" && pwd)  # absolute: the tests run in another folder
  export LD_LIBRARY_PATH="$tbb${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  supp=""
fi
export TSAN_OPTIONS="$supp halt_on_error=1 second_deadlock_stack=1 log_path=$logs/report ${TSAN_OPTIONS:-}"
failed=()
cd "$build/tests"  # where ctest runs them
for r in "${runs[@]}"; do
  bin=${r%%:*} filter=${r#*:}
  echo "== $bin --test-case='$filter'"
  if ! "./$bin" --test-case="$filter" --no-version; then failed+=("$bin"); fi
done
if compgen -G "$logs/report.*" >/dev/null; then
  cat "$logs"/report.*
  echo "ThreadSanitizer: $(cat "$logs"/report.* | grep -c '^WARNING: ThreadSanitizer') report(s), above" >&2
  exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "ThreadSanitizer: no report"

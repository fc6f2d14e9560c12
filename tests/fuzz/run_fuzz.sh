#!/usr/bin/env bash
# Fuzzes spec loading and validation (tests/fuzz/fuzz_spec.cpp), text and binary.
#
#   tests/fuzz/run_fuzz.sh [--runs N | --seconds S] [BUILD_DIR]
#
# BUILD_DIR (default build-fuzz) is configured with `cmake --preset fuzz` (clang,
# ASan + UBSan, libFuzzer, -O2 for long hunts) if it is not, and the target is
# built here.  CI passes build-asan: the asan preset builds the target too, so
# the tree that ran the test suite fuzzes without a second build.  The
# seed corpus: every example spec and the malformed specs of tests/fuzz/seeds/,
# each as text (first byte 0) and as binary (first byte 1, encoded by protoc).
# --runs N (default 600000, about a minute) with a fixed seed gives the same inputs on every
# machine: what CI runs.  --seconds S runs for S seconds from a random seed:
# the longer hunt (docs/install.md, "Sanitizers and fuzzing").  A crash, a sanitizer report, a leak or an
# exception other than the loader's refusal stops the run with the input saved
# as BUILD_DIR/fuzz-findings/crash-*; turn it into a test (tests/test_spec*.cpp)
# when fixing it.  Exits non-zero on a finding.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
limit=(-runs=600000 -seed=1)
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) limit=(-runs="$2" -seed=1); shift 2 ;;
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    *) break ;;
  esac
done
build=${1:-$root/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset fuzz -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" --target fuzz_spec
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
k=0
for f in "$root"/examples/*/*.pbtxt "$root"/tests/fuzz/seeds/*.pbtxt; do
  k=$((k + 1))
  { printf '\0'; cat "$f"; } > "$corpus/text_$k"
  # Only the specs that parse have a binary form.
  if protoc --encode=spikeem.proto.Spec -I "$root" "$root/io/spikeem.proto" < "$f" > "$corpus/bin.tmp" 2>/dev/null; then
    { printf '\1'; cat "$corpus/bin.tmp"; } > "$corpus/binary_$k"
  fi
  rm -f "$corpus/bin.tmp"
done
mkdir -p "$build/fuzz-findings"
echo "fuzz_spec: $(ls "$corpus" | wc -l) seeds, ${limit[*]}" >&2
# Inputs up to 64 KiB; 2 GiB of memory at most (a spec is small: more is a finding).
"$build/tests/fuzz/fuzz_spec" "${limit[@]}" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$build/fuzz-findings/" -print_final_stats=1 "$corpus"

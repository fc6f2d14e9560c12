#!/usr/bin/env bash
# spikeem installed and moved still finds its data; so does a moved copy of
# the build folder's binary and data mirror.  Run by ctest (install_relocatable).
#
#   tests/check_install.sh SOURCE_DIR BUILD_DIR [--no-python]
#
# 1. `cmake --install BUILD --prefix TMP/p1`, then TMP/p1 is renamed TMP/p2.
# 2. TMP/p2/bin/spikeem bench --help names no source or build path; `bench
#    cuba_delta` reads the spec installed in TMP/p2 (its --json names it).
# 3. The installed binaries, debug info stripped, contain no source or build
#    path (strings) other than source file names.
# 4. stdp-curve with its plot: with a Python that imports matplotlib the PNG is
#    made; without one the message says so.  With SPIKEEM_PYTHON=/nonexistent
#    it says it cannot run that, exits 1, and the CSV is the same bytes.
# 5. A copy of BUILD/spikeem and BUILD/share, renamed, reads its own spec copy.
# 6. The Python module installed under the moved prefix imports and runs, and
#    the folder it goes to is one Debian's python3 searches for prefix /usr/local.
#    Skipped with --no-python: a sanitizer build has no Python module.
# Prints what failed and exits 1, or prints OK.
set -u
python=yes
if [ $# -eq 3 ] && [ "$3" = --no-python ]; then python=no; set -- "$1" "$2"; fi
[ $# -eq 2 ] || { sed -n 2,18p "$0"; exit 2; }
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. Install, then move the prefix.
cmake --install "$build" --prefix "$tmp/p1" > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; exit 1; }
mv "$tmp/p1" "$tmp/p2"
p="$tmp/p2"
for f in bin/spikeem bin/learn_regression share/spikeem/examples/benchmarks/cuba_delta.pbtxt \
         share/spikeem/examples/stdp/plot_stdp_curve.py share/spikeem/examples/generative/plot_eval.py \
         share/spikeem/examples/gradient_alignment/plot_learning.py share/spikeem/examples/benchmarks/README.md \
         share/doc/spikeem/README.md share/doc/spikeem/ARCHITECTURE.md share/doc/spikeem/docs/science.md; do
  [ -e "$p/$f" ] || fail "not installed: $f"
done
[ -z "$(find "$p/share/spikeem" -name '*.png')" ] || fail "PNG figures installed in share/spikeem"

# 2. The moved install runs from its own files.
unset SPIKEEM_DATA_DIR SPIKEEM_PYTHON
help=$("$p/bin/spikeem" bench --help) || fail "bench --help exit status $?"
case "$help" in *"$src"* | *"$build"*) fail "bench --help names a source or build path" ;; esac
json=$("$p/bin/spikeem" bench cuba_delta --duration-ms 20 --repeat 1 -q --json) || fail "installed bench cuba_delta"
case "$json" in
  *"\"spec\": \"$p/share/spikeem/examples/benchmarks/cuba_delta.pbtxt\""*) ;;
  *) fail "installed bench did not read $p/share/spikeem/examples/benchmarks/cuba_delta.pbtxt: $json" ;;
esac
"$p/bin/learn_regression" --help > /dev/null || fail "installed learn_regression --help"

# 3. No source or build path in the binaries (debug info, if any, stripped
#    first; a source file's own name, which assert messages of a debug build
#    carry, is not a data path, nor is a place in one: UBSan's type names in a
#    sanitizer build name lambdas and anonymous unions by where they are,
#    '(lambda at SRC/io/cli_run.cpp:68:9)').
for b in spikeem learn_regression; do
  strip --strip-debug -o "$tmp/$b.stripped" "$p/bin/$b" || { fail "strip $b"; continue; }
  hits=$(strings "$tmp/$b.stripped" | sed -E 's/\((lambda|anonymous [a-z]+) at [^)]*\)//g' |
         grep -F -e "$src" -e "$build" | grep -v -E '\.(c|cc|cpp|h|hpp|proto)$')
  [ -z "$hits" ] || fail "bin/$b contains a source or build path: $hits"
done

# 4. Plots: the finder's choice, and SPIKEEM_PYTHON=/nonexistent.
stdp() {  # OUT_DIR: an STDP curve, 20 ms steps
  "$p/bin/spikeem" stdp-curve --dt-step-ms 20 --out "$1" > "$1.stdout" 2> "$1.stderr"
}
have_mpl=no
for py in "$(command -v python3)" /usr/bin/python3; do
  [ -n "$py" ] && "$py" -c "import matplotlib" > /dev/null 2>&1 && have_mpl=yes
done
stdp "$tmp/plot"; rc=$?
if [ $have_mpl = yes ]; then
  [ $rc -eq 0 ] || fail "stdp-curve with plot: exit status $rc: $(cat "$tmp/plot.stderr")"
  [ -s "$tmp/plot/stdp_curve.png" ] || fail "stdp-curve made no PNG"
else
  [ $rc -eq 1 ] || fail "stdp-curve without matplotlib: exit status $rc, expected 1"
  grep -q "no Python with matplotlib found (tried: " "$tmp/plot.stderr" || fail "no 'no Python with matplotlib' message"
fi
SPIKEEM_PYTHON=/nonexistent stdp "$tmp/nopy"; rc=$?
[ $rc -eq 1 ] || fail "SPIKEEM_PYTHON=/nonexistent: exit status $rc, expected 1"
grep -q "^spikeem: cannot run SPIKEEM_PYTHON=/nonexistent (No such file or directory); the CSV outputs are complete$" \
  "$tmp/nopy.stderr" || fail "SPIKEEM_PYTHON=/nonexistent message: $(cat "$tmp/nopy.stderr")"
cmp -s "$tmp/plot/stdp_curve.csv" "$tmp/nopy/stdp_curve.csv" || fail "stdp_curve.csv differs without the plot"
[ "$(wc -l < "$tmp/nopy/stdp_curve.csv")" -ge 2 ] || fail "stdp_curve.csv: expected a header and rows"
[ -s "$tmp/nopy/stdp_curve.json" ] || fail "stdp_curve.json missing without the plot"
[ ! -e "$tmp/nopy/stdp_curve.png" ] || fail "a PNG without Python"

# 5. A moved copy of the build folder's binary and mirror.
mkdir "$tmp/b1" && cp "$build/spikeem" "$tmp/b1/" && cp -R "$build/share" "$tmp/b1/" && mv "$tmp/b1" "$tmp/b2" ||
  fail "copying the build folder's spikeem and share/"
json=$("$tmp/b2/spikeem" bench cuba_delta --duration-ms 20 --repeat 1 -q --json) || fail "moved build bench cuba_delta"
case "$json" in
  *"\"spec\": \"$tmp/b2/share/spikeem/examples/benchmarks/cuba_delta.pbtxt\""*) ;;
  *) fail "moved build did not read its own share/spikeem: $json" ;;
esac

# 6. The Python package: lib/pythonX.Y/dist-packages/spikeem below the prefix.
if [ $python = yes ]; then
  py=/usr/bin/python3
  site=$("$py" -c 'import sys; print(f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/dist-packages")')
  [ -e "$p/$site/spikeem/__init__.py" ] || fail "the Python package is not in $site/spikeem"
  out=$(cd "$tmp" && PYTHONPATH="$p/$site" "$py" -c '
import spikeem
spec = spikeem.Spec(run=dict(duration_ms=50), population=[dict(name="s", size=5, poisson=dict(rate_hz=100))],
                    record=dict(spikes=["s"]))
print(spikeem.__file__, len(spikeem.Simulation(spec).run().spikes("s").t_ms) > 0)' 2>&1) ||
    fail "import spikeem from the moved prefix: $out"
  case "$out" in "$p/$site/spikeem/__init__.py True") ;; *) fail "the moved prefix's module: $out" ;; esac
  "$py" -c "import sys; sys.exit(0 if '/usr/local/$site' in sys.path else 1)" ||
    fail "$py does not search /usr/local/$site: the default install would not import"
fi

[ $failures -eq 0 ] || exit 1
echo OK

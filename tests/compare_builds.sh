#!/usr/bin/env bash
# Runs every example of this checkout with two builds of spikeem and compares
# every output byte for byte: the check that a change which should not change
# behaviour (a refactoring, a speed-up) did not.
#
#   tests/compare_builds.sh OLD_BUILD_DIR NEW_BUILD_DIR [WORK_DIR]
#
# Each build dir holds `spikeem` and `learn_regression`.  Both run the same spec
# files (this checkout's examples/), at 1 and 4 threads, with durations
# shortened to keep the whole check at a few minutes.  JSON files are compared
# without their wall-time fields and the lines that say how a run was split
# (threads, partitions, lookahead), printed summaries without timing lines and
# the partition notes;
# PNGs are skipped.  Prints ALL IDENTICAL and exits 0, or lists what differs
# and exits 1.
set -u
[ $# -ge 2 ] || { sed -n 2,13p "$0"; exit 2; }
old=$(cd "$1" && pwd) new=$(cd "$2" && pwd)
work=${3:-$(mktemp -d)}
ex=$(cd "$(dirname "$0")/../examples" && pwd)

capture() {  # BIN_DIR OUT_DIR
    local b=$1 o=$2
    rm -rf "$o" && mkdir -p "$o"
    run() {  # NAME SPEC THREADS DURATION_MS
        "$b/spikeem" run "$2" --out "$o/$1.t$3" --threads "$3" --duration-ms "$4" -q > "$o/$1.t$3.stdout" 2>&1
    }
    for th in 1 4; do
        echo "  $(basename "$o"): example specs on $th thread(s)" >&2
        run cuba_delta "$ex/benchmarks/cuba_delta.pbtxt" $th 2000
        run cuba_exp "$ex/benchmarks/cuba_exp.pbtxt" $th 2000
        run cuba_stdp "$ex/benchmarks/cuba_stdp.pbtxt" $th 2000
        run scale_4k "$ex/benchmarks/scale_4k.pbtxt" $th 500
        run scale_40k "$ex/benchmarks/scale_40k.pbtxt" $th 100
        run scale_400k "$ex/benchmarks/scale_400k.pbtxt" $th 10
        run brunel "$ex/benchmarks/brunel_plastic.pbtxt" $th 50
        run eq1_network "$ex/eq1/eq1_network.pbtxt" $th 20000
        run song2000 "$ex/song2000/song2000.pbtxt" $th 5000
        run brunel_input "$ex/benchmarks/brunel_plastic_input.pbtxt" $th 50
        run coba "$ex/benchmarks/coba.pbtxt" $th 1000
        run quiet_lif_exp "$ex/benchmarks/quiet_lif_exp.pbtxt" $th 100
        run short_lookahead "$ex/benchmarks/short_lookahead.pbtxt" $th 200
        run istdp_small "$ex/inhibitory_plasticity/small.pbtxt" $th 2000
        run istdp_balanced "$ex/inhibitory_plasticity/balanced.pbtxt" $th 500
        run first_network "$ex/first_network/first_network.pbtxt" $th 1000
        run currents "$ex/currents/currents.pbtxt" $th 1000
        run file_inputs "$ex/file_inputs/file_inputs.pbtxt" $th 1000
        for s in adapting bursting initial_burst tonic; do
            run adex_$s "$ex/adex/$s.pbtxt" $th 1000
        done
        for s in energy energy_deep gaussian_layer learn_regression supervised; do
            run $s "$ex/gradient_alignment/$s.pbtxt" $th 5000
        done
    done
    echo "  $(basename "$o"): experiments" >&2
    for s in supervised energy gaussian_layer; do
        "$b/spikeem" gradcheck "$ex/gradient_alignment/$s.pbtxt" --out "$o/gc_$s" --seeds 2 --duration-ms 3000 \
            > "$o/gc_$s.stdout" 2>&1
    done
    "$b/spikeem" stdp-curve --out "$o/stdp" > "$o/stdp.stdout" 2>&1
    "$b/spikeem" stdp-curve --out "$o/stdp_triplet" --rule triplet --preset visual_all_to_all \
        > "$o/stdp_triplet.stdout" 2>&1
    "$b/spikeem" eq1-curve --out "$o/eq1" > "$o/eq1.stdout" 2>&1
    "$b/spikeem" drift --out "$o/drift" > "$o/drift.stdout" 2>&1
    "$b/learn_regression" "$ex/gradient_alignment/learn_regression.pbtxt" --out "$o/learn" > "$o/learn.stdout" 2>&1
}

normalise() {  # FILE: timing lines out, the output folder's own path replaced
    case "$1" in
        *.json) grep -v -E 'wall|elapsed|"threads"|"partitions"|"lookahead_ms"' "$1" | sed "s#$work/[a-z]*/#OUT/#g" ;;
        *.stdout) grep -v -E 'wall|[0-9.]+ s\b|/s\b|RTF|elapsed|partitions? used' "$1" | sed "s#$work/[a-z]*/#OUT/#g" ;;
        *) cat "$1" ;;
    esac
}

capture "$old" "$work/old"
capture "$new" "$work/new"
bad=0
for f in $(cd "$work/old" && find . -type f ! -name '*.png' | sort); do
    if [ ! -f "$work/new/$f" ]; then echo "missing in new: $f"; bad=1
    elif ! cmp -s <(normalise "$work/old/$f") <(normalise "$work/new/$f"); then echo "differs: $f"; bad=1; fi
done
for f in $(cd "$work/new" && find . -type f ! -name '*.png' | sort); do
    [ -f "$work/old/$f" ] || { echo "only in new: $f"; bad=1; }
done
[ $bad = 0 ] && echo "ALL IDENTICAL ($work)"
exit $bad

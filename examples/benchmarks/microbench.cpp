// The bare inner loop of spike delivery, as a lower bound for spikeem's cost
// per synaptic event (Google Benchmark; see README.md, "Where the time goes").  Also
// BM_WindowBound at the end: the cost of a design measured and not built.
//
// What one synaptic event costs at least, with spikeem's data layout
// (Projection: CSR blocks of uint32 targets and double weights;
// LifDeltaPopulation: one 16 B State per neuron, the rescaled membrane u;
// arrays of 1 MiB or more on huge pages, BigVector):
// read the target and the weight, touch the target's state, skip it if
// refractory, add w * g (g = exp((t - t0)/tau_m), one exp per block), compare
// with the threshold line, and on a crossing reset the neuron.  Nothing else:
// no event queue, no spike emission, no crossing prediction, no plasticity.
//
// Spikes come from source neurons drawn at random (as in a network, where
// the spike order is unrelated to memory order), each walking its block of
// `fanout` synapses with targets drawn at random over `neurons` neurons.
// Sizes: cuba_delta / scale_4k (4000 neurons, 80 synapses per source, 320 k
// synapses: everything fits in L2) and scale_400k (400 000 neurons, 32 M
// synapses, 384 MB of synapses and 6.4 MB of neuron state: the state of a
// random target is a cache miss).  Counter ns_per_event = wall ns per
// synaptic event.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sim/huge_pages.hpp"

namespace {

using Tick = std::int64_t;

// As LifDeltaPopulation::State: what a delivery touches, in one place.
struct State {
    double u;          // (V - v_rest) exp((t - t0)/tau_m)
    Tick clamp;        // end of refractoriness
};

struct Network {
    // As in spikeem, on 2 MiB pages when large (sim/huge_pages.hpp).
    spikeem::BigVector<std::uint32_t> row;  // per source + 1: first synapse
    spikeem::BigVector<std::uint32_t> targets;
    spikeem::BigVector<double> weights;
    spikeem::BigVector<State> state;
    std::vector<std::uint32_t> spike_order;  // random sources, walked cyclically
};

Network make_network(std::uint32_t neurons, std::uint32_t fanout) {
    Network net;
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::uint32_t> pick(0, neurons - 1);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    const std::uint32_t sources = neurons;
    net.row.resize(std::size_t{sources} + 1);
    net.targets.resize(std::size_t{sources} * fanout);
    net.weights.resize(net.targets.size());
    for (std::uint32_t s = 0; s <= sources; ++s) net.row[s] = s * fanout;
    for (std::uint32_t s = 0; s < sources; ++s) {
        // 80 % excitatory sources (+0.25 mV, as in cuba_delta) and 20 % inhibitory.  Without a leak,
        // cuba_delta's -2.25 mV would drive every u down for good; -0.5 mV leaves a net upward drift
        // of 0.1 mV per input, so a neuron crosses every ~100 inputs (counter crossing_share).
        const double w = s < sources / 5 * 4 ? 0.25 : -0.5;
        for (std::uint32_t k = net.row[s]; k < net.row[s + 1]; ++k) {
            net.targets[k] = pick(rng);
            net.weights[k] = w;
        }
        // Targets sorted within a block, as in Projection (CSR by delay, then target).
        std::sort(net.targets.begin() + net.row[s], net.targets.begin() + net.row[s + 1]);
    }
    net.state.resize(neurons);
    for (State& x : net.state) x = State{-11.0 + 10.0 * unif(rng), 0};
    net.spike_order.resize(1u << 20);
    std::uniform_int_distribution<std::uint32_t> src(0, sources - 1);
    for (auto& s : net.spike_order) s = src(rng);
    return net;
}

// One spike's delivery block: the loop of LifDeltaPopulation::deliver without
// the calls it makes on a crossing (here: reset in place and count).
inline std::uint64_t deliver_block(State* state, const std::uint32_t* targets, const double* weights, std::size_t n,
                                   Tick t, double g, double u_th, double u_reset) {
    std::uint64_t crossings = 0;
    for (std::size_t k = 0; k < n; ++k) {
        State& x = state[targets[k]];
        if (t < x.clamp) continue;  // refractory: the input is lost
        x.u += weights[k] * g;
        if (x.u >= u_th) {
            x.u = u_reset;  // a spike: reset (the engine would also emit and schedule)
            x.clamp = t + 5;
            ++crossings;
        }
    }
    return crossings;
}

void BM_Deliver(benchmark::State& st) {
    const auto neurons = static_cast<std::uint32_t>(st.range(0));
    const auto fanout = static_cast<std::uint32_t>(st.range(1));
    Network net = make_network(neurons, fanout);
    // Membrane in the rescaled form with t0 fixed: u_th, u_reset and g are
    // the values at t = t0 (g = 1 would let the compiler drop the multiply,
    // so g is recomputed per block from a changing time, one exp per block).
    const double u_th = -1.0, u_reset = -11.0;
    std::uint64_t events = 0, crossings = 0;
    std::size_t next = 0;
    Tick t = 0;
    for (auto _ : st) {
        const std::uint32_t s = net.spike_order[next];
        next = (next + 1) & (net.spike_order.size() - 1);
        ++t;
        const double g = std::exp(static_cast<double>(t & 1023) * 1e-9);
        const std::uint32_t b = net.row[s], n = net.row[s + 1] - b;
        crossings += deliver_block(net.state.data(), net.targets.data() + b, net.weights.data() + b, n, t, g, u_th,
                                   u_reset);
        events += n;
    }
    // Through a const copy: benchmark 1.7.1's non-const DoNotOptimize ("+r,m") let gcc 12 -O3 corrupt
    // the counted value here.  The crossings are used below, so the loop cannot be dropped anyway.
    const std::uint64_t sink = crossings;
    benchmark::DoNotOptimize(sink);
    st.counters["ns_per_event"] =
        benchmark::Counter(static_cast<double>(events) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    st.counters["events"] = static_cast<double>(events);
    st.counters["crossing_share"] = events ? static_cast<double>(crossings) / static_cast<double>(events) : 0.0;
}

// cuba_delta / scale_4k; scale_40k; scale_400k (all with 80 synapses per source).
BENCHMARK(BM_Deliver)->Args({4000, 80})->Args({40000, 80})->Args({400000, 80})->Unit(benchmark::kNanosecond);

// A design spikeem measured and did not build: instead of lif_exp's lazy
// checks, bound V over every 1 ms window for every neuron (chord bound: the
// larger end value plus h^2/8 times a bound of V'').  With the window's decay
// factors shared, the bound is a few multiplies per neuron over lif_exp's
// 48 B state.  Counter ns_per_neuron_window = wall ns per neuron and window;
// times the windows and neurons of a network, it is what such a sweep would
// cost (README.md, "Design choices", measured and not adopted).
void BM_WindowBound(benchmark::State& st) {
    struct ExpState {  // lif_exp's per-neuron state
        double a, be, bi, margin;
        Tick pending;
        std::uint8_t mode;
    };
    const auto neurons = static_cast<std::size_t>(st.range(0));
    std::vector<ExpState> x(neurons);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (ExpState& s : x) s = {-8.0 + u(rng), 2.0 * u(rng), -1.0 - 2.0 * u(rng), 0.0, 0, 0};
    // tau_m, tau_e, tau_i = 20, 5, 10 ms; a 1 ms window; v_th - v_rest = 1 mV.
    const double fm = std::exp(-1.0 / 20.0), fe = std::exp(-1.0 / 5.0), fi = std::exp(-1.0 / 10.0);
    const double cm = 1.0 / (400.0 * 8.0), ce = 1.0 / (25.0 * 8.0), ci = 1.0 / (100.0 * 8.0);
    std::uint64_t windows = 0, fails = 0;
    for (auto _ : st) {
        // The window's start factors change from window to window (the rescaled form).
        const double w = static_cast<double>(windows & 1023);
        const double m0 = 1.0 + 1e-7 * w, e0 = 1.0 + 2e-7 * w, i0 = 1.0 + 3e-7 * w;
        const double m1 = m0 * fm, e1 = e0 * fe, i1 = i0 * fi;
        for (ExpState& s : x) {
            const double A0 = s.a * m0, E0 = s.be * e0, I0 = s.bi * i0, A1 = s.a * m1, E1 = s.be * e1, I1 = s.bi * i1;
            const double curv = std::max(A0 * cm, A1 * cm) + std::max(E0 * ce, E1 * ce) + std::max(I0 * ci, I1 * ci);
            s.margin = 1.0 - (std::max(A0 + E0 + I0, A1 + E1 + I1) + std::max(curv, 0.0));
            fails += s.margin <= 0.0;
        }
        ++windows;
    }
    const std::uint64_t sink = fails;
    benchmark::DoNotOptimize(sink);
    st.counters["ns_per_neuron_window"] = benchmark::Counter(
        static_cast<double>(windows * neurons) * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// cuba_exp's 4000 neurons.
BENCHMARK(BM_WindowBound)->Arg(4000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

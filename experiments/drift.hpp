#pragma once
// The drift identity (docs/science.md, "The rule (Eq. 1)"): for slowly varying rates, pair STDP
// drifts at
//   <dW/dt> ~= r_pre * (r_post * int K + dr_post/dt * int tau K),
//   int K = A+ tau+ - A- tau-,   int tau K = A+ tau+^2 + A- tau-^2,
// i.e. it is Eq. 1 in rate form.  measure_drift() runs pair STDP between
// independent Poisson trains (pre at a constant rate, post with a linear
// ramp) on the full simulator and compares the measured drift with that
// formula and with the exact expectation for the pairing scheme.
//
// Attribution matters: a pair changes the weight at its later spike, while the
// formula attributes each pair to its presynaptic spike.  Over a finite
// window the two differ by boundary terms of order r_pre A tau^2 dr_post,
// the same order as the ramp term itself.  So the measurement makes the
// formula's attribution exact: presynaptic spikes occur only in
// [margin, margin + duration], postsynaptic spikes over the whole run
// [0, duration + 2 margin], and the drift is the total weight change divided
// by the duration: every pair of a presynaptic spike is counted, and no other.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

struct DriftCase {
    double r_pre_hz;
    double r_post_hz;                // at t = 0
    double r_post_slope_hz_per_s;    // dr_post/dt
    Pairing pairing;
};

struct DriftOptions {
    PairStdpParams rule;             // pairing is taken from each case
    std::uint32_t pre_neurons = 100, post_neurons = 100;  // all-to-all: pre * post synapses
    double duration_ms = 100000.0;   // presynaptic spikes in [margin, margin + duration]
    double margin_ms = 1000.0;       // postsynaptic spikes this long before and after
    int seeds = 8;
    std::uint64_t first_seed = 1;
};

struct DriftRow {
    DriftCase c;
    double measured_mV_per_s;        // mean over seeds of the mean drift over synapses
    double sem_mV_per_s;             // standard error over seeds
    double identity_mV_per_s;        // the formula above, r_post averaged while pre spikes occur
    double expected_mV_per_s;        // exact expectation of the measurement for this scheme
};

// The drift formula above (rates in Hz, result in mV/s).
double identity_drift(const PairStdpParams& rule, double r_pre_hz, double r_post_hz, double slope_hz_per_s);

// Exact expectation (mV/s) of the measurement above: Poisson pre train at
// r_pre in [margin, margin + duration], Poisson post train r0 + s t on
// [0, duration + 2 margin] (numerical quadrature, relative accuracy ~1e-6).
double expected_drift(const PairStdpParams& rule, const DriftCase& c, double margin_ms, double duration_ms);

// The network of one measurement (exposed for inspection and tests).
NetworkSpec drift_network(const PairStdpParams& rule, const DriftCase& c, const DriftOptions& o, std::uint64_t seed);

// The window of `rule` made to integrate to zero: A- = A+ tau+ / tau-, so that
// int K = 0 and the drift is the Eq. 1 term r_pre dr_post/dt int tau K alone.
PairStdpParams zero_integral_window(const PairStdpParams& rule);

// The cases that resolve that term: all-to-all pairing, r_pre = 20 Hz, the post
// rate ramping linearly between 5 and 55 Hz over the whole run (margins
// included), once up and once down.  The ramp is as steep as the run allows
// while the rate stays positive: the term grows with the slope, the noise does not.
std::vector<DriftCase> zero_integral_cases(const DriftOptions& o);

// Runs every case for every seed (in parallel, TBB); results in case order,
// identical for any thread count.  `progress(done, total)` (optional) is
// called after each run, from the worker threads, one call at a time.
std::vector<DriftRow> measure_drift(const DriftOptions& o, const std::vector<DriftCase>& cases,
                                    const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace spikeem

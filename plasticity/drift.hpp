#pragma once
// The identity of SCIENCE.md section 1: for slowly varying rates, pair STDP
// drifts at
//   <dW/dt> ~= r_pre * (r_post * int K + dr_post/dt * int tau K),
//   int K = A+ tau+ - A- tau-,   int tau K = A+ tau+^2 + A- tau-^2,
// i.e. it is Eq. 1 in rate form.  measure_drift() runs pair STDP between
// independent Poisson trains (pre at a constant rate, post with a linear
// ramp) on the full simulator and compares the measured drift with that
// formula and with the exact expectation of the run (finite duration
// included, and the pairing scheme's own statistics).
#include <cstdint>
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
    double duration_ms = 100000.0;
    int seeds = 8;
    std::uint64_t first_seed = 1;
};

struct DriftRow {
    DriftCase c;
    double measured_mV_per_s;        // mean over seeds of the mean drift over synapses
    double sem_mV_per_s;             // standard error over seeds
    double identity_mV_per_s;        // the formula above, with r_post averaged over the run
    double expected_mV_per_s;        // exact expectation for this scheme and duration
};

// Drift formula of SCIENCE.md section 1 (rates in Hz, result in mV/s).
double identity_drift(const PairStdpParams& rule, double r_pre_hz, double r_post_hz, double slope_hz_per_s);

// Exact expected drift (mV/s) of pair STDP over [0, T] between a homogeneous
// Poisson pre train and an inhomogeneous Poisson post train r0 + s t
// (numerical quadrature for the nearest-spike schemes; closed form for all-to-all).
double expected_drift(const PairStdpParams& rule, const DriftCase& c, double duration_ms);

// The network of one measurement (exposed for inspection and tests).
NetworkSpec drift_network(const PairStdpParams& rule, const DriftCase& c, const DriftOptions& o, std::uint64_t seed);

// Runs every case for every seed (in parallel, TBB); results in case order,
// identical for any thread count.
std::vector<DriftRow> measure_drift(const DriftOptions& o, const std::vector<DriftCase>& cases);

}  // namespace spikeem

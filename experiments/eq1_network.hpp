#pragma once
// The Eq. 1 STDP curve from the full simulator (SCIENCE.md section 2, last
// paragraph): one stochastic neuron driven by noisy excitatory and inhibitory
// Poisson inputs, Eq. 1 (voltage_slope) at all its input synapses.  Every
// (presynaptic spike, postsynaptic spike) pair within the window contributes
// (dT = t_post - t_pre at the synapse, dW of that presynaptic spike).
#include <cstdint>
#include <vector>

#include "network/spec.hpp"
#include "experiments/eq1_protocol.hpp"

namespace spikeem {

struct Eq1NetworkOptions {
    std::uint64_t seed = 1;
    double duration_ms = 200000.0;
    std::uint32_t n_exc = 400, n_inh = 100;
    double rate_exc_hz = 10.0, rate_inh_hz = 10.0;
    double w_exc_mV = 0.02, w_inh_mV = -0.08;
    // No reset by default: a forward difference that straddles a reset reads
    // the reset as a steep fall, which turns the curve around near dT = 0.
    StochasticParams neuron = [] {
        StochasticParams p;
        p.tau_m_ms = 10.0;
        p.drive_mV = 0.7;
        return p;
    }();
    SlopeEstimate estimate = SlopeEstimate::Forward;
    double slope_window_ms = 2.0;  // T of the forward / central difference
    double window_ms = 100.0, bin_ms = 5.0;
};

struct Eq1NetworkResult {
    std::vector<eq1::Bin> bins;     // dW in units of eta = 1 ms, i.e. the slope in mV/ms
    eq1::CurveFits fits;
    std::uint64_t pre_spikes = 0, post_spikes = 0, pairs = 0;
    double post_rate_hz = 0.0;
};

NetworkSpec eq1_network(const Eq1NetworkOptions& o);
Eq1NetworkResult run_eq1_network(const Eq1NetworkOptions& o);

}  // namespace spikeem

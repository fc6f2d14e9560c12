#pragma once
// The Eq. 1 STDP curve from the full simulator (docs/science.md, "STDP curves
// and pairing"): one stochastic neuron driven by noisy excitatory and
// inhibitory Poisson inputs, Eq. 1 (voltage_slope) at all its input synapses.
// Each presynaptic spike is paired with the postsynaptic spikes within the
// window that the pairing selects (nearest by default), contributing
// (dT = t_post - t_pre at the synapse, dW of that presynaptic spike).
//
// Standard errors.  Pairs inside one run are not independent: the presynaptic
// spikes of a few ms share one voltage slope, and one postsynaptic spike pairs
// with many presynaptic ones.  The run is therefore cut into blocks of
// block_ms by the time of the presynaptic spike, and each bin's standard error
// is the between-block one (eq1::ReplicateBins).  Two pairs can be correlated
// only if their presynaptic spikes are closer than about 2 window_ms (they
// can share a post spike) plus a few membrane time constants (the voltage
// forgets in tau_m): 2 x 100 + 5 x 10 = 250 ms with the defaults.  Blocks of
// 5 s are 20 times that, so pairs correlated across a block boundary are at
// most about 5% of a block's and the blocks are nearly independent.
#include <cstddef>
#include <cstdint>
#include <functional>
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
    eq1::PostPairing pairing = eq1::PostPairing::Nearest;
    // Replicate blocks (see above).  The run has floor(duration / block) blocks
    // (at least one; a remainder joins the last block); with fewer than 2 the
    // standard errors are NaN.
    double block_ms = 5000.0;
};

struct Eq1NetworkResult {
    std::vector<eq1::Bin> bins;     // dW in units of eta = 1 ms, i.e. the slope in mV/ms
    eq1::CurveFits fits;            // weighted by the between-block standard errors
    std::uint64_t blocks = 0;       // independent replicates behind the standard errors
    double block_ms = 0.0;          // their length (the last may be longer)
    std::uint64_t pre_spikes = 0, post_spikes = 0, pairs = 0;
    double post_rate_hz = 0.0;
};

NetworkSpec eq1_network(const Eq1NetworkOptions& o);
// Throws std::invalid_argument on a non-positive duration or block_ms.
// `progress(ms simulated, ms)` (optional) is called after each of 100 pieces
// of the run (whole ms); running in pieces changes no result.
Eq1NetworkResult run_eq1_network(const Eq1NetworkOptions& o,
                                 const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace spikeem

#pragma once
// Experimental plasticity protocols run on the full simulator: one
// presynaptic source, one postsynaptic LIF neuron made to fire at controlled
// times by a strong static input, and the plastic synapse between them.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

struct PairingProtocol {
    PlasticitySpec rule;
    double dendritic_delay_ms = 0.0;
    double axonal_delay_ms = 1.0;
    double w0_mV = 1.0;        // initial weight of the plastic synapse
    int pairings = 60;         // Bi & Poo 1998: 60 pairings at 1 Hz
    double frequency_hz = 1.0;
};

struct PairingResult {
    double dt_ms;         // t_post - t_pre at the synapse
    double frequency_hz;
    double dw_mV;         // w_final - w0
    double dw_rel;        // dw / w0
    std::uint64_t post_spikes;  // must equal pairings: the protocol checks itself
};

// One protocol run: `pairings` pre/post pairs, dt = t_post - t_pre at the synapse.
PairingResult run_pairing(const PairingProtocol& protocol, double dt_ms);

// Many runs in parallel (TBB); results in input order, identical for any
// thread count.  Each (dt, frequency) is an independent simulation.
// `progress(done, total)` (optional) is called after each run, from the worker
// threads, one call at a time; it changes no result.
std::vector<PairingResult> run_pairings(const PairingProtocol& protocol, const std::vector<double>& dts_ms,
                                        const std::vector<double>& frequencies_hz,
                                        const std::function<void(std::size_t, std::size_t)>& progress = {});

// The network spec of one protocol run (exposed for tests and inspection).
NetworkSpec pairing_network(const PairingProtocol& protocol, double dt_ms);

}  // namespace spikeem

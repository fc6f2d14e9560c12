#pragma once
// Everything a finished Simulation exposes, as integers, for tests that
// compare two runs byte for byte (threads, checkpoints).
#include <bit>
#include <cstdint>
#include <vector>

#include "network/simulation.hpp"

namespace spikeem::test {

inline std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// Everything a run exposes, flattened to integers (doubles by their bits) so
// that equality is byte equality, NaN included.
struct Fingerprint {
    std::vector<std::uint64_t> spikes, voltages, weight_samples, rate_samples, weights, slope_log, counts,
        population_rates;
    bool operator==(const Fingerprint&) const = default;
};

inline void add_state(Fingerprint& f, Simulation& sim) {
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        for (const WeightSample& w : sim.weights_now(j)) f.weights.insert(f.weights.end(), {w.pre, w.post, bits(w.w)});
}

inline Fingerprint finish(Simulation& sim) {
    Fingerprint f;
    for (const SpikeRecord& s : sim.sorted_spikes())
        f.spikes.insert(f.spikes.end(), {static_cast<std::uint64_t>(s.t), s.population, s.neuron});
    for (const VoltageSample& v : sim.voltages())
        f.voltages.insert(f.voltages.end(), {static_cast<std::uint64_t>(v.t), v.population, v.neuron, bits(v.v_mV)});
    for (const WeightSample& w : sim.weight_samples())
        f.weight_samples.insert(f.weight_samples.end(),
                                {static_cast<std::uint64_t>(w.t), w.projection, w.pre, w.post, bits(w.w)});
    for (const RateSample& r : sim.rate_samples())
        f.rate_samples.insert(f.rate_samples.end(), {static_cast<std::uint64_t>(r.t), r.probe, r.population, r.neuron,
                                                     static_cast<std::uint64_t>(r.readout), bits(r.rate_hz)});
    add_state(f, sim);
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        for (const SlopeUpdate& u : sim.slope_log(j))
            f.slope_log.insert(f.slope_log.end(), {j, static_cast<std::uint64_t>(u.t_arrival), u.synapse, bits(u.dw)});
    for (const PopulationRateSample& r : sim.population_rates())
        f.population_rates.insert(f.population_rates.end(),
                                  {static_cast<std::uint64_t>(r.t), r.probe, r.population, r.spikes, bits(r.rate_hz)});
    f.counts = {sim.events_processed(), sim.synaptic_events()};
    for (std::size_t p = 0; p < sim.num_populations(); ++p) {
        const PopulationSummary s = sim.summary(p);
        f.counts.insert(f.counts.end(), {s.spikes, bits(s.mean_rate_hz), bits(s.mean_cv_isi), s.neurons_with_cv});
    }
    return f;
}

}  // namespace spikeem::test

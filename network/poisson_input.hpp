#pragma once
// Poisson input straight into neurons (PoissonInputSpec): the external drive
// of Brunel-style networks without a source population or a projection.
// Each target neuron has its own train of rate sources * rate_hz (the sum of
// `sources` independent Poisson trains is one Poisson train) drawn exactly
// from its own random stream, and at most one pending Input event in the
// queue of the partition that owns it: an input costs one event and one
// single-target deliver(), and never crosses partitions.
#include <cstdint>
#include <vector>

#include "network/population.hpp"
#include "network/spec.hpp"
#include "sim/random.hpp"
#include "sim/time.hpp"

namespace spikeem {

class PoissonInput {
public:
    // `index`: the input's place in NetworkSpec::poisson_inputs (the aux of its
    // events); `target` the population it feeds, `target_offset` its neuron 0's
    // global index.
    PoissonInput(const PoissonInputSpec& spec, std::uint32_t index, std::uint32_t target,
                 std::uint32_t target_size, std::uint32_t target_offset, const TimeBase& time, std::uint64_t seed);

    std::uint32_t target() const { return target_; }
    // The first input of every target neuron (through hooks that route by neuron).
    void start(EngineHooks& engine);
    // Input event e (for the neuron e.src) reaches `pop`: one PSP of weight_mV,
    // then the neuron's next input is scheduled.
    void fire(EngineHooks& engine, const Event& e, Population& pop);
    // Event e is next: start loading what fire() will touch (no other effect).
    void prefetch(const Event& e, const Population& pop) const {
        const std::uint32_t local = e.src - offset_;
        __builtin_prefetch(&rng_[local - begin_], 1);  // both cache lines of the stream
        __builtin_prefetch(reinterpret_cast<const char*>(&rng_[local - begin_] + 1) - 1, 1);
        __builtin_prefetch(&next_ms_[local - begin_], 1);
        pop.prefetch(local);
    }
    // Checkpoints (see Population::save_state).
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    void schedule_next(EngineHooks& engine, std::uint32_t k);  // k: index within the range

    std::uint32_t index_, target_, begin_, offset_;
    double mean_isi_ms_, weight_mV_, stop_ms_;
    TimeBase time_;
    std::vector<RandomStream> rng_;
    std::vector<double> next_ms_;
};

}  // namespace spikeem

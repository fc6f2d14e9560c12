#pragma once
// Poisson input straight into neurons (PoissonInputSpec): the external drive
// of Brunel-style networks without a source population or a projection.
// Each target neuron has its own train of rate sources * rate_hz (the sum of
// `sources` independent Poisson trains is one Poisson train) drawn exactly
// from its own random stream.  The partition that owns a neuron draws its
// arrivals a window of time at a time (fill(), into the partition's
// InputBatch): an input costs one single-target deliver(), never a queue
// insertion, and never crosses partitions.
#include <cstdint>
#include <vector>

#include "network/population.hpp"
#include "network/spec.hpp"
#include "sim/event_queue.hpp"
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
    // Inputs per ms into one target neuron (0: none).
    double rate_per_ms() const { return mean_isi_ms_ > 0.0 ? 1.0 / mean_isi_ms_ : 0.0; }
    // The number of target neurons among the population's [lo, hi).
    std::uint32_t targets_in(std::uint32_t lo, std::uint32_t hi) const;
    // The first arrival of every target neuron is drawn.
    void start();
    // Appends an arrival (an Input event: src the neuron, aux this input) for every
    // arrival in [from, to) at the target neurons among the population's
    // [lo, hi), and draws on; the arrivals before `from` are already taken.
    // Returns false if no arrival can come at or after `to` (the input stopped).
    bool fill(Tick from, Tick to, std::uint32_t lo, std::uint32_t hi, std::vector<InputArrival>& out);
    // Input event e (for the neuron e.src) reaches `pop`: one PSP of weight_mV.
    void fire(EngineHooks& engine, const Event& e, Population& pop) {
        const std::uint32_t local = e.src - offset_;
        pop.deliver(engine, e.t, &local, &weight_mV_, 1);
    }
    // Event e comes soon: start loading what fire() will touch (no other effect).
    void prefetch(const Event& e, const Population& pop) const { pop.prefetch(e.src - offset_); }
    // Checkpoints (see Population::save_state).
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    std::uint32_t index_, target_, begin_, end_, offset_;
    double mean_isi_ms_, weight_mV_, start_ms_, stop_ms_;
    TimeBase time_;
    std::vector<RandomStream> rng_;
    // Per target neuron: its next arrival (ms, not yet rounded) once start()
    // has drawn the first; at or past stop_ms when its train has ended.
    std::vector<double> next_ms_;
};

}  // namespace spikeem

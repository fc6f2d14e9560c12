#pragma once
// Currents injected straight into neurons (CurrentInputSpec): DC (one value
// per neuron), steps (the same schedule for every neuron), or an
// Ornstein-Uhlenbeck current sampled on a grid and held between samples.  A
// current moves the target neuron's rest level while it flows (R I, in mV),
// which every leaky integrate-and-fire model integrates exactly, so the
// spikes stay exact given the current.  Each target neuron has at most one
// pending Current event in the queue of the partition that owns it; every
// change is one event and one add_current() call, and never crosses partitions.
#include <cstdint>
#include <vector>

#include "network/population.hpp"
#include "network/spec.hpp"
#include "sim/random.hpp"
#include "sim/time.hpp"

namespace spikeem {

class CurrentInput {
public:
    // `index`: the input's place in NetworkSpec::current_inputs (the aux of its
    // events); `target` the population it feeds, `target_offset` its neuron 0's
    // global index.
    CurrentInput(const CurrentInputSpec& spec, std::uint32_t index, std::uint32_t target, std::uint32_t target_size,
                 std::uint32_t target_offset, const TimeBase& time, std::uint64_t seed);

    std::uint32_t target() const { return target_; }
    // The first change of every target neuron (through hooks that route by neuron).
    void start(EngineHooks& engine);
    // Current event e (for the neuron e.src, step e.aux2) reaches `pop`.
    void change(EngineHooks& engine, const Event& e, Population& pop);
    // The value (mV) flowing into the k-th target neuron now (for tests and probes).
    double value_mV(std::uint32_t local) const { return value_[local - begin_]; }
    // Checkpoints (see Population::save_state).
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    // The value from step `step` on for target k (OU: draws the next sample).
    double value_at(std::uint32_t k, std::uint32_t step);
    Tick tick_of(std::uint32_t step) const;  // kNever after the stop
    void schedule(EngineHooks& engine, std::uint32_t k, std::uint32_t step);

    CurrentInputSpec spec_;
    std::uint32_t index_, target_, begin_, offset_;
    TimeBase time_;
    Tick stop_;
    double ou_decay_ = 0.0, ou_kick_ = 0.0;  // exp(-dt/tau), sigma sqrt(1 - exp(-2 dt/tau))
    std::vector<RandomStream> rng_;  // OU: one stream per target neuron
    std::vector<double> dc_;          // DC: each target's amplitude
    std::vector<Tick> step_ticks_;    // steps: the change points in [start, stop], and
    std::vector<double> step_values_; // the value from each (0 at stop)
    std::vector<double> value_;       // what flows into each target now
};

}  // namespace spikeem

#pragma once
#include <cstdint>
#include <vector>

#include "network/models/registry.hpp"
#include "network/population.hpp"

namespace spikeem {

// Independent Poisson spike trains, rate_hz (or a rate slope, or a rate
// table over time) in [start_ms, stop_ms).  Intervals
// are drawn exactly (exponential, in double ms) and only the emission time is
// rounded to the tick, so rounding never accumulates.
class PoissonPopulation final : public Population {
public:
    PoissonPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                      const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return ModelTraits<PoissonParams>::name; }
    bool is_neuron() const override { return ModelTraits<PoissonParams>::neuron; }
    void prefetch(std::uint32_t local) const override {
        // A stream spans two cache lines: its key and counter, then its buffered output.
        __builtin_prefetch(&rng_[local], 1);
        __builtin_prefetch(reinterpret_cast<const char*>(&rng_[local] + 1) - 1, 1);
        __builtin_prefetch(&next_ms_[local], 1);
        __builtin_prefetch(&pending_[local], 1);
        __builtin_prefetch(&mean_isi_ms_[local]);
    }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    // Change the (constant) rate of neuron i from time t on: the pending spike
    // is replaced by one drawn from t (exact: the process is memoryless).
    // Not for sources with a rate slope; throws std::invalid_argument for a
    // source with a rate table.
    void set_rate(EngineHooks& engine, std::uint32_t i, Tick t, double rate_hz);

private:
    // The rate table's next spike of neuron i after next_ms_[i], by time
    // rescaling: an Exp(1) draw is spent along the table, segment k using up
    // rate_k (T_{k+1} - t) / 1000 of it, so the times are exactly those of the
    // piecewise-constant Poisson process.  Sets next_ms_[i] and returns true,
    // or returns false when the rate stays 0 from there on (or the draw
    // reaches stop_ms at a row boundary).
    bool advance_by_table(std::uint32_t i);
    void schedule_next(EngineHooks& engine, std::uint32_t i);
    PoissonParams p_;
    TimeBase time_;
    std::vector<double> mean_isi_ms_;  // per neuron; 0 for a silent neuron
    std::vector<RandomStream> rng_;
    std::vector<double> next_ms_;
    std::vector<Tick> pending_;  // tick of the live SourceFire event, kNever if none
};

}  // namespace spikeem

#pragma once
#include <cstdint>
#include <vector>

#include "network/models/registry.hpp"
#include "network/population.hpp"

namespace spikeem {

// Each neuron emits at a given list of times (rounded to the tick).
class SpikeTimesPopulation final : public Population {
public:
    SpikeTimesPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                         const TimeBase& time);
    const char* model() const override { return ModelTraits<SpikeTimesParams>::name; }
    bool is_neuron() const override { return ModelTraits<SpikeTimesParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;

private:
    std::vector<std::vector<Tick>> times_;
    std::vector<std::size_t> next_;
};

}  // namespace spikeem

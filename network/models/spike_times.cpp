#include "network/models/spike_times.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace spikeem {

SpikeTimesPopulation::SpikeTimesPopulation(const PopulationSpec& spec, std::uint32_t index,
                                           std::uint32_t global_offset, const TimeBase& time)
    : Population(spec.name, spec.size, index, global_offset), times_(spec.size), next_(spec.size, 0) {
    const auto& p = std::get<SpikeTimesParams>(spec.model);
    for (std::size_t i = 0; i < p.times_ms.size() && i < spec.size; ++i) {
        for (double t : p.times_ms[i]) times_[i].push_back(time.round(t));
        std::sort(times_[i].begin(), times_[i].end());
    }
}

void SpikeTimesPopulation::start(EngineHooks& engine) {
    for (std::uint32_t i = 0; i < size(); ++i)
        if (!times_[i].empty()) engine.schedule(make_event(times_[i][0], EventKind::SourceFire, i));
}

void SpikeTimesPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    engine.emit_spike(index(), i, e.t);
    if (++next_[i] < times_[i].size()) engine.schedule(make_event(times_[i][next_[i]], EventKind::SourceFire, i));
}

void SpikeTimesPopulation::save_state(StateWriter& w) const {
    w.section("spike_times " + name());
    w.values(next_);
}

void SpikeTimesPopulation::load_state(StateReader& r) {
    r.section("spike_times " + name());
    r.same_size(next_, "positions in the trains");
}

}  // namespace spikeem

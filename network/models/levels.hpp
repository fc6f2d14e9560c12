#pragma once
// The voltage levels of a leaky integrate-and-fire population (rest, threshold,
// reset) and its refractory period, per neuron when they differ between neurons:
// drawn per neuron (PopulationSpec::per_neuron), or moved by injected currents
// (CurrentInputSpec: a current R I shifts the neuron's rest level while it flows).
// A population whose levels are all shared keeps no per-neuron copy, so its
// arithmetic and its speed are those of a population without this feature.
//
// Partition safety: add_current(i) writes neuron i's entry only; the vectors
// are sized once, at construction.
#include <cstdint>
#include <string>
#include <vector>

#include "network/spec.hpp"
#include "sim/random.hpp"
#include "sim/state.hpp"
#include "sim/time.hpp"

namespace spikeem {

class NeuronLevels {
public:
    struct Shared {
        double v_rest_mV, v_th_mV, v_reset_mV, t_ref_ms;
    };
    // `takes_current`: some current input targets the population, so its rest
    // levels must be kept per neuron.  Draws come from streams keyed by the
    // seed, the population's name, the parameter's name and the neuron
    // (per_neuron_values); it reads the spreads of v_rest_mV, v_th_mV,
    // v_reset_mV and t_ref_ms and leaves any other to the model.
    NeuronLevels(const PopulationSpec& spec, Shared shared, bool takes_current, const TimeBase& time,
                 std::uint64_t seed);

    bool varied() const { return !rest_.empty(); }
    double rest(std::uint32_t i) const { return rest_.empty() ? s_.v_rest_mV : rest_[i]; }
    double th(std::uint32_t i) const { return rest_.empty() ? s_.v_th_mV : th_[i]; }
    double reset(std::uint32_t i) const { return rest_.empty() ? s_.v_reset_mV : reset_[i]; }
    Tick t_ref(std::uint32_t i) const { return rest_.empty() ? t_ref_ticks_ : t_ref_[i]; }
    // Does some neuron rest above its threshold (and so fire without input)?
    bool any_self_crossing() const { return any_self_crossing_; }
    // Neuron i's initial V: its own rest level, or its reset level if it rests
    // at or above threshold (for PopulationSpec::v_init_at_rest).
    double rest_start(std::uint32_t i) const { return rest(i) < th(i) ? rest(i) : reset(i); }
    // A current of delta_mV (R I) starts to flow into neuron i (negative: stops).
    // Contract: varied().
    void add_current(std::uint32_t i, double delta_mV) { rest_[i] += delta_mV; }
    // Checkpoints: the rest levels currents have moved (the rest is drawn from the spec).
    void save_state(StateWriter& w) const { w.values(rest_); }
    void load_state(StateReader& r) { r.same_size(rest_, "rest levels"); }

private:
    Shared s_;
    Tick t_ref_ticks_;
    bool any_self_crossing_;
    std::vector<double> rest_, th_, reset_;
    std::vector<Tick> t_ref_;
};

}  // namespace spikeem

#include "network/models/levels.hpp"

#include "network/models/per_neuron.hpp"

namespace spikeem {
NeuronLevels::NeuronLevels(const PopulationSpec& spec, Shared shared, bool takes_current, const TimeBase& time,
                           std::uint64_t seed)
    : s_(shared), t_ref_ticks_(time.round(shared.t_ref_ms)), any_self_crossing_(shared.v_rest_mV > shared.v_th_mV) {
    // Other parameters (time constants) may be spread while the levels are shared.
    const bool spread = find_spread(spec, "v_rest_mV") || find_spread(spec, "v_th_mV") ||
                        find_spread(spec, "v_reset_mV") || find_spread(spec, "t_ref_ms");
    if (!spread && !takes_current) return;
    const std::uint32_t n = spec.size;
    rest_ = per_neuron_values(spec, "v_rest_mV", s_.v_rest_mV, seed);
    th_ = per_neuron_values(spec, "v_th_mV", s_.v_th_mV, seed);
    reset_ = per_neuron_values(spec, "v_reset_mV", s_.v_reset_mV, seed);
    t_ref_.resize(n);
    const std::vector<double> t_ref_ms = per_neuron_values(spec, "t_ref_ms", s_.t_ref_ms, seed);
    for (std::uint32_t i = 0; i < n; ++i) t_ref_[i] = time.round(t_ref_ms[i]);
    // The loader checked the draws' ranges (reset below threshold); rest above
    // threshold is allowed and makes the neuron fire on its own.  Currents may
    // raise any rest level later: a population that takes them watches for it.
    any_self_crossing_ = takes_current;
    for (std::uint32_t i = 0; i < n; ++i) any_self_crossing_ = any_self_crossing_ || rest_[i] > th_[i];
}

}  // namespace spikeem

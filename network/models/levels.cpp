#include "network/models/levels.hpp"

#include <stdexcept>

#include "network/population.hpp"

namespace spikeem {
NeuronLevels::NeuronLevels(const PopulationSpec& spec, Shared shared, bool takes_current, const TimeBase& time,
                           std::uint64_t seed)
    : s_(shared), t_ref_ticks_(time.round(shared.t_ref_ms)), any_self_crossing_(shared.v_rest_mV > shared.v_th_mV) {
    if (spec.per_neuron.empty() && !takes_current) return;
    const std::uint32_t n = spec.size;
    rest_.assign(n, s_.v_rest_mV);
    th_.assign(n, s_.v_th_mV);
    reset_.assign(n, s_.v_reset_mV);
    t_ref_.assign(n, t_ref_ticks_);
    for (const ParameterSpread& p : spec.per_neuron) {
        const std::uint64_t key = stable_hash(spec.name + "." + p.parameter);
        auto fill = [&](auto& values, auto convert) {
            for (std::uint32_t i = 0; i < n; ++i) {
                RandomStream rng(seed, rng_domain::kParameter, key, i);
                values[i] = convert(draw(p.value, rng));
            }
        };
        const auto same = [](double v) { return v; };
        if (p.parameter == "v_rest_mV") fill(rest_, same);
        else if (p.parameter == "v_th_mV") fill(th_, same);
        else if (p.parameter == "v_reset_mV") fill(reset_, same);
        else if (p.parameter == "t_ref_ms") fill(t_ref_, [&](double v) { return time.round(v); });
        else throw std::invalid_argument("population " + spec.name + ": no per-neuron parameter " + p.parameter);
    }
    // The loader checked the draws' ranges (reset below threshold); rest above
    // threshold is allowed and makes the neuron fire on its own.  Currents may
    // raise any rest level later: a population that takes them watches for it.
    any_self_crossing_ = takes_current;
    for (std::uint32_t i = 0; i < n; ++i) any_self_crossing_ = any_self_crossing_ || rest_[i] > th_[i];
}

}  // namespace spikeem

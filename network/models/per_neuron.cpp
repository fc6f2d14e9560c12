#include "network/models/per_neuron.hpp"

#include <string>

#include "network/population.hpp"  // draw
#include "sim/random.hpp"

namespace spikeem {

const ParameterSpread* find_spread(const PopulationSpec& spec, std::string_view parameter) {
    for (const ParameterSpread& p : spec.per_neuron)
        if (p.parameter == parameter) return &p;
    return nullptr;
}

std::vector<double> per_neuron_values(const PopulationSpec& spec, std::string_view parameter, double shared,
                                      std::uint64_t seed) {
    std::vector<double> values(spec.size, shared);
    const ParameterSpread* p = find_spread(spec, parameter);
    if (!p) return values;
    const std::uint64_t key = stable_hash(spec.name + "." + p->parameter);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kParameter, key, i);
        values[i] = draw(p->value, rng);
    }
    return values;
}

}  // namespace spikeem

#include "network/models/registry.hpp"

#include "network/models/adex.hpp"
#include "network/models/lif_cond_exp.hpp"
#include "network/models/lif_delta.hpp"
#include "network/models/lif_exp.hpp"
#include "network/models/poisson.hpp"
#include "network/models/spike_times.hpp"
#include "network/models/stochastic.hpp"

namespace spikeem {
namespace {
template <class... F>
struct Cases : F... {
    using F::operator()...;
};
template <class... F>
Cases(F...) -> Cases<F...>;
}  // namespace

std::unique_ptr<Population> make_population(const PopulationSpec& spec, std::uint32_t index,
                                            std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed) {
    using P = std::unique_ptr<Population>;
    // One case per model: std::visit does not compile with one missing.
    return std::visit(
        Cases{
            [&](const LifDeltaParams&) -> P {
                return std::make_unique<LifDeltaPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const LifExpParams&) -> P {
                return std::make_unique<LifExpPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const LifCondExpParams&) -> P {
                return std::make_unique<LifCondExpPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const AdExParams&) -> P {
                return std::make_unique<AdExPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const StochasticParams&) -> P {
                return std::make_unique<StochasticPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const PoissonParams&) -> P {
                return std::make_unique<PoissonPopulation>(spec, index, global_offset, time, seed);
            },
            [&](const SpikeTimesParams&) -> P {
                return std::make_unique<SpikeTimesPopulation>(spec, index, global_offset, time);
            },
        },
        spec.model);
}

}  // namespace spikeem

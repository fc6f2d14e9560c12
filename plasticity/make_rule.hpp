#pragma once
// The one place that turns a plasticity spec into its rule object: one case
// per alternative of PlasticitySpec::rule (std::visit does not compile with a
// case missing).
#include <cstdint>
#include <memory>
#include <variant>

#include "plasticity/params.hpp"
#include "plasticity/plastic_synapses.hpp"
#include "plasticity/rules.hpp"
#include "plasticity/synapse_rule.hpp"
#include "plasticity/voltage_slope.hpp"
#include "sim/time.hpp"

namespace spikeem {

// How a projection stores its synapses, as a rule needs to know it.
struct SynapseLayout {
    const std::uint32_t* targets;  // per synapse
    std::size_t n_synapses;
    std::uint32_t target_size;          // neurons in the target population
    const std::uint32_t* group_begin;   // first synapse of each delay group, + a sentinel = n_synapses
    std::size_t n_groups;
};

inline std::unique_ptr<SynapseRule> make_rule(const PlasticitySpec& spec, const TimeBase& time,
                                              const SynapseLayout& s) {
    auto pairs = [&](auto rule) -> std::unique_ptr<SynapseRule> {
        return std::make_unique<PlasticSynapses<decltype(rule)>>(std::move(rule), spec, s.targets, s.n_synapses,
                                                                s.target_size, s.group_begin, s.n_groups);
    };
    struct Cases {
        decltype(pairs)& by_pairs;
        const PlasticitySpec& spec;
        const TimeBase& time;
        std::unique_ptr<SynapseRule> operator()(const PairStdpParams& p) const { return by_pairs(PairStdp(p, time)); }
        std::unique_ptr<SynapseRule> operator()(const TripletStdpParams& p) const {
            return by_pairs(TripletStdp(p, time));
        }
        std::unique_ptr<SynapseRule> operator()(const RateSlopeParams& p) const { return by_pairs(RateSlope(p, time)); }
        std::unique_ptr<SynapseRule> operator()(const InhibitoryStdpParams& p) const {
            return by_pairs(InhibitoryStdp(p, time));
        }
        std::unique_ptr<SynapseRule> operator()(const VoltageSlopeParams& p) const {
            return std::make_unique<VoltageSlopeSynapses>(p, spec, time);
        }
    };
    return std::visit(Cases{pairs, spec, time}, spec.rule);
}

}  // namespace spikeem

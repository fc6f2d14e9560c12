#include "network/network.hpp"

#include <algorithm>
#include <stdexcept>

#include "network/models/registry.hpp"

namespace spikeem {

Network::Network(const NetworkSpec& spec, const TimeBase& time) {
    const std::uint64_t seed = spec.run.seed;
    std::uint32_t offset = 0;
    for (std::size_t i = 0; i < spec.populations.size(); ++i) {
        PopulationSpec ps = spec.populations[i];
        for (const auto& c : spec.current_inputs) ps.takes_current = ps.takes_current || c.target == ps.name;
        offsets_.push_back(offset);
        populations_.push_back(make_population(ps, static_cast<std::uint32_t>(i), offset, time, seed));
        offset += ps.size;
    }
    offsets_.push_back(offset);

    outgoing_.resize(populations_.size());
    post_rules_.resize(populations_.size());
    projections_.reserve(spec.projections.size());
    for (std::size_t j = 0; j < spec.projections.size(); ++j) {
        const auto& pj = spec.projections[j];
        const std::uint32_t s = find_population(pj.source), t = find_population(pj.target);
        const auto index = static_cast<std::uint32_t>(j);
        if (pj.transpose_of.empty()) {
            projections_.emplace_back(pj, index, s, t, populations_[s]->size(), populations_[t]->size(), s == t,
                                      time, seed);
        } else {
            Projection& partner = projections_[find_projection(pj.transpose_of)];
            projections_.emplace_back(pj, index, s, t, populations_[s]->size(), populations_[t]->size(), partner,
                                      time, seed);
            // projections_ was reserved: both addresses are final.
            Projection::tie(projections_.back(), partner);
        }
        outgoing_[s].push_back(index);
        if (projections_.back().plastic()) post_rules_[t].push_back(index);
    }
    inputs_.reserve(spec.poisson_inputs.size());
    for (std::size_t k = 0; k < spec.poisson_inputs.size(); ++k) {
        const auto& in = spec.poisson_inputs[k];
        const std::uint32_t t = find_population(in.target);
        inputs_.emplace_back(in, static_cast<std::uint32_t>(k), t, populations_[t]->size(), offsets_[t], time, seed);
    }
    currents_.reserve(spec.current_inputs.size());
    for (std::size_t k = 0; k < spec.current_inputs.size(); ++k) {
        const auto& in = spec.current_inputs[k];
        const std::uint32_t t = find_population(in.target);
        if (!model_takes_current(spec.populations[t].model))
            throw std::invalid_argument("current input \"" + in.name + "\": population \"" + in.target +
                                        "\" has a model that takes no current");
        currents_.emplace_back(in, static_cast<std::uint32_t>(k), t, populations_[t]->size(), offsets_[t], time,
                               seed);
    }
}

std::uint32_t Network::find_population(const std::string& name) const {
    for (std::size_t i = 0; i < populations_.size(); ++i)
        if (populations_[i]->name() == name) return static_cast<std::uint32_t>(i);
    throw std::invalid_argument("unknown population \"" + name + "\"");
}

std::uint32_t Network::find_projection(const std::string& name) const {
    for (std::size_t j = 0; j < projections_.size(); ++j)
        if (projections_[j].name() == name) return static_cast<std::uint32_t>(j);
    throw std::invalid_argument("unknown projection \"" + name + "\"");
}

Tick Network::lookahead() const {
    Tick lookahead = kNever;
    for (const Projection& pj : projections_) {
        const SynapseRule* rule = pj.rule();
        const Tick before = rule && rule->reads_before_arrival() ? rule->lead() : 0;
        const std::uint32_t sources = populations_[pj.source_population()]->size();
        for (std::uint32_t g = 0; g < pj.group_begin(sources); ++g)
            lookahead = std::min(lookahead, pj.group(g).delay - before);
    }
    return lookahead;
}

void Network::save_state(StateWriter& w) const {
    w.section("network");
    w.value(static_cast<std::uint64_t>(populations_.size()));
    for (const auto& p : populations_) p->save_state(w);
    for (const Projection& pj : projections_) pj.save_state(w);
    for (const PoissonInput& in : inputs_) in.save_state(w);
    for (const CurrentInput& c : currents_) c.save_state(w);
}

void Network::load_state(StateReader& r) {
    r.section("network");
    r.expect(static_cast<std::uint64_t>(populations_.size()), "the number of populations");
    for (const auto& p : populations_) p->load_state(r);
    for (Projection& pj : projections_) pj.load_state(r);
    for (PoissonInput& in : inputs_) in.load_state(r);
    for (CurrentInput& c : currents_) c.load_state(r);
}

}  // namespace spikeem

#pragma once
// The network a spec describes: its populations and projections, built once,
// with the lookups the engine needs at every spike.  Deterministic in (spec,
// seed); no run state (queues, partitions, recordings: see simulation.hpp).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "network/current_input.hpp"
#include "network/poisson_input.hpp"
#include "network/population.hpp"
#include "network/projection.hpp"
#include "network/spec.hpp"
#include "sim/time.hpp"

namespace spikeem {

class Network {
public:
    // Contract: `spec` passed io's validation (names resolve); an unknown
    // name is reported as std::invalid_argument all the same.
    Network(const NetworkSpec& spec, const TimeBase& time);

    std::size_t num_populations() const { return populations_.size(); }
    Population& population(std::size_t p) { return *populations_[p]; }
    const Population& population(std::size_t p) const { return *populations_[p]; }
    std::size_t num_projections() const { return projections_.size(); }
    Projection& projection(std::size_t j) { return projections_[j]; }
    const Projection& projection(std::size_t j) const { return projections_[j]; }

    // The Poisson inputs (NetworkSpec::poisson_inputs), in spec order.
    std::size_t num_poisson_inputs() const { return inputs_.size(); }
    PoissonInput& poisson_input(std::size_t k) { return inputs_[k]; }
    const PoissonInput& poisson_input(std::size_t k) const { return inputs_[k]; }
    // The injected currents (NetworkSpec::current_inputs), in spec order.
    std::size_t num_current_inputs() const { return currents_.size(); }
    CurrentInput& current_input(std::size_t k) { return currents_[k]; }

    std::uint32_t find_population(const std::string& name) const;
    std::uint32_t find_projection(const std::string& name) const;

    // Neurons are numbered globally, population by population in spec order.
    std::uint32_t offset(std::size_t p) const { return offsets_[p]; }
    std::uint32_t num_neurons() const { return offsets_.back(); }
    // Called for every own event and source spike: inline, and for the few
    // populations of most networks a forward scan rather than a binary search.
    std::uint32_t population_of(std::uint32_t global) const {
        if (offsets_.size() > 9)
            return static_cast<std::uint32_t>(std::upper_bound(offsets_.begin(), offsets_.end(), global) - offsets_.begin() - 1);
        std::uint32_t p = 0;
        while (offsets_[p + 1] <= global) ++p;
        return p;
    }

    // Projections leaving population p (spec order).
    const std::vector<std::uint32_t>& outgoing(std::size_t p) const { return outgoing_[p]; }
    // Projections into population p whose rule sees postsynaptic spikes.
    const std::vector<std::uint32_t>& post_spike_rules(std::size_t p) const { return post_rules_[p]; }

    // The smallest delay from a spike to anything it makes happen at another
    // neuron: delivery (axonal + dendritic delay), or a rule's read of the
    // membrane before the arrival (SynapseRule::lead).  kNever without synapses.
    Tick lookahead() const;
    // Checkpoints: what running changed in every population, projection and
    // input, in spec order (see Population::save_state).
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    std::vector<std::unique_ptr<Population>> populations_;
    std::vector<std::uint32_t> offsets_;  // global index of each population's neuron 0, + total
    std::vector<Projection> projections_;
    std::vector<PoissonInput> inputs_;
    std::vector<CurrentInput> currents_;
    std::vector<std::vector<std::uint32_t>> outgoing_, post_rules_;
};

}  // namespace spikeem

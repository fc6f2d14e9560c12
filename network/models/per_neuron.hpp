#pragma once
// Model parameters drawn per neuron (Population.per_neuron in the spec).
//
// Each neuron's value comes from a random stream keyed by the seed, the
// population's name, the parameter's name and the neuron's index, so it does
// not depend on the partitioning, on the thread count or on which other
// parameters are spread.  Which parameters a model may spread is in its
// ModelTraits (network/models/registry.hpp); the loader checks the names and
// that every value a spread can draw is one the model accepts.
#include <cstdint>
#include <string_view>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

// The spread of `parameter`, or nullptr when every neuron has the model's value.
const ParameterSpread* find_spread(const PopulationSpec& spec, std::string_view parameter);

// One value of `parameter` per neuron: the draws of its spread, or `shared`
// for every neuron when it is not spread.
std::vector<double> per_neuron_values(const PopulationSpec& spec, std::string_view parameter, double shared,
                                      std::uint64_t seed);

}  // namespace spikeem

#pragma once
// The sections of a spec, one unit each (io/loader/<section>.cpp).  Each reads
// its part of the proto, reports its problems to the Validator and fills its
// part of the NetworkSpec.  load_spec calls them in the order run, populations,
// projections (with plasticity), poisson_input, current_input, record, objective: later
// sections look up what earlier ones built, and errors come out in that order.
// A section fills its part even when it reports problems (the values are then
// unused: the loader throws), so later sections can still check what they can.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/loader/validator.hpp"
#include "io/spec_loader.hpp"
#include "network/spec.hpp"
#include "sim/time.hpp"

namespace spikeem::io::loader {

// The populations by name, for the sections after the populations section.
struct PopulationIndex {
    std::map<std::string, std::size_t> by_name;  // valid, unique names only
    std::vector<bool> receives_input;            // per population: a neuron model (false without a model)

    // The index of population `name`, or nothing (no message).
    std::optional<std::size_t> find(const std::string& name) const;
    // The index of population `name`, given in field `field` of n (element `index` if repeated).
    // Reports an unknown name, and a spike source where need_neuron.
    std::optional<std::size_t> lookup(Validator& v, const Node& n, const char* field, const std::string& name,
                                      bool need_neuron, int index = -1) const;
};

// "the resolution <ms>", as messages about times below one tick name it.
std::string resolution_label(const TimeBase& time);

// run: resolution, duration (from the overrides' path when --duration-ms set it), seed.
// Returns the time base that later sections check times against (1 ns when the resolution is invalid).
TimeBase load_run(const proto::Run& run, const Node& rn, const SpecOverrides& o, Validator& v, RunSpec& out);

// population: names, sizes and models, appended to out in spec order.
PopulationIndex load_populations(const proto::Spec& spec, const Node& root, Validator& v,
                                 std::vector<PopulationSpec>& out);

// Field `field` of pn: a range of neurons within a population of `size` neurons.
// Returned as given, also when reported (later checks then see its bounds).
NeuronRange neuron_range(const Node& pn, const char* field, const proto::NeuronRange& r, std::uint32_t size,
                         Validator& v);

// poisson_input: appended to out.poisson_inputs in spec order.  Needs out.populations.
void load_poisson_inputs(const proto::Spec& spec, const Node& root, const PopulationIndex& pops,
                         const TimeBase& time, Validator& v, NetworkSpec& out);

// current_input: appended to out.current_inputs in spec order.  Needs out.populations and out.run.
void load_current_inputs(const proto::Spec& spec, const Node& root, const PopulationIndex& pops,
                         const TimeBase& time, Validator& v, NetworkSpec& out);

// projection: appended to out.projections in spec order; a transpose follows its partner.
// Needs out.populations (sizes).
void load_projections(const proto::Spec& spec, const Node& root, const PopulationIndex& pops, const TimeBase& time,
                      Validator& v, NetworkSpec& out);

// projection.plasticity of projection js (connectivity, weights and delays already read):
// the rule, its weight bounds and dependence.  Nothing when invalid.
std::optional<PlasticitySpec> load_plasticity(const proto::Plasticity& p, const Node& n, const ProjectionSpec& js,
                                              double resolution_ms, Validator& v);

// record: spike, weight, voltage and rate probes.  Needs out.populations and out.projections.
void load_record(const proto::Record& rec, const Node& rc, const PopulationIndex& pops, const TimeBase& time,
                 Validator& v, NetworkSpec& out);

// objective (only when the spec has one): supervised, gaussian_layer or energy.
// Needs out.populations and out.projections.
void load_objective(const proto::Objective& ob, const Node& on, const PopulationIndex& pops, Validator& v,
                    NetworkSpec& out);

}  // namespace spikeem::io::loader

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

// The files a spec names (spike_times.file, rate_table.file): where relative
// paths start, and each file read, for the spec hash and run.json.
struct InputFiles {
    std::string base_dir;         // empty: the working directory
    std::vector<InputFile> read;  // in spec order
};

// spike_times.file of node sn (population `size` neurons, `population`: the
// population selector, empty if none): appends each neuron's times to times_ms
// (size lists).  Reports an unreadable file, a bad header, dtype or shape, and
// each bad row (file, line or element, value and rule; at most a few per file).
void read_spike_times_file(const Node& sn, const std::string& file, const std::string& population,
                           std::uint32_t size, InputFiles& files, Validator& v,
                           std::vector<std::vector<double>>& times_ms);

// rate_table.file of node tn: the rows "t_ms,rate_hz" appended to t_ms and
// rate_hz, their line numbers to lines (the table's own rules are the
// caller's to check).  Reports an unreadable file, a bad header and rows that
// are not two numbers.
void read_rate_table_file(const Node& tn, const std::string& file, InputFiles& files, Validator& v,
                          std::vector<double>& t_ms, std::vector<double>& rate_hz, std::vector<std::size_t>& lines);

// run: resolution, duration (from the overrides' path when --duration-ms set it), seed.
// Returns the time base that later sections check times against (1 ns when the resolution is invalid).
TimeBase load_run(const proto::Run& run, const Node& rn, const SpecOverrides& o, Validator& v, RunSpec& out);

// The limits the resolution sets, over the whole spec below root (except run, which
// load_run checks): every time and duration <= 10^17 ticks (a power of ten well below
// what the 64-bit tick counts, TimeBase::max_ms, so that sums of them fit), every
// neuron model's time constant >= one tick (below it every neuron is rebased at every
// tick), every Poisson or stochastic event rate below one event per tick (above it the
// event loop never ends), every string valid UTF-8 (text specs may escape any byte),
// and no field unknown to this schema (a binary spec's).
void check_limits(const Node& root, const TimeBase& time, Validator& v);

// The same limits for the values read from files (spike_times.file, rate_table.file),
// which the spec's own fields do not hold: each file's first time too late and first
// rate too high; and a poisson ramp (rate_slope_hz_per_s) that would pass one event
// per tick before the run (duration_ms) or its stop_ms ends.  Needs the populations
// loaded (pops, in spec order).
void check_file_limits(const proto::Spec& spec, const Node& root, const TimeBase& time, double duration_ms,
                       const std::vector<PopulationSpec>& pops, Validator& v);

// population: names, sizes and models, appended to out in spec order.
// Files the models name are read here (relative to files.base_dir) and listed in files.read.
PopulationIndex load_populations(const proto::Spec& spec, const Node& root, Validator& v,
                                 std::vector<PopulationSpec>& out, InputFiles& files);

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

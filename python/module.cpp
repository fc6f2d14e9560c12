// spikeem._core: the engine for Python.  A thin layer: specs go through the
// same loader as the command line (so errors read the same), simulations are
// the same Simulation, and recorded data leave as NumPy columns that the
// pure-Python package (python/spikeem/) shapes into arrays per population or
// probe.  The GIL is released while the engine runs; the Python side runs long
// simulations in chunks so that Ctrl-C lands between two of them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"
#include "python/experiments.hpp"

namespace py = pybind11;

namespace spikeem::python {
namespace {

io::SpecOverrides overrides(std::optional<std::uint64_t> seed, std::optional<double> duration_ms) {
    io::SpecOverrides o;
    o.seed = seed;
    o.duration_ms = duration_ms;
    return o;
}

// One NumPy array per (name, getter) of rows: d[name][i] = getter(rows[i]),
// typed as the getter returns.
template <class Row, class Getter>
void add_column(py::dict& d, const std::vector<Row>& rows, const char* name, Getter get) {
    using T = std::decay_t<decltype(get(std::declval<const Row&>()))>;
    py::array_t<T> a(static_cast<py::ssize_t>(rows.size()));
    auto v = a.template mutable_unchecked<1>();
    for (std::size_t i = 0; i < rows.size(); ++i) v(static_cast<py::ssize_t>(i)) = get(rows[i]);
    d[name] = a;
}

template <class Row, class... Getters>
py::dict columns(const std::vector<Row>& rows, std::pair<const char*, Getters>... cols) {
    py::dict d;
    (add_column(d, rows, cols.first, cols.second), ...);
    return d;
}

// One simulation with the spec it came from (run.json needs both) and the
// arena that caps its threads (no process-wide TBB setting).
class PySimulation {
public:
    // exact: `threads` partitions whenever the network can be split; otherwise
    // at most that many, fewer when its epochs hold little work (PartitionPlan).
    PySimulation(const io::LoadedSpec& spec, unsigned threads, bool exact)
        : spec_(spec),
          arena_(static_cast<int>(threads)),
          sim_(std::make_unique<Simulation>(spec.spec, threads,
                                            exact ? Partitioning::Exact : Partitioning::ByWork)) {}

    void run_until_ms(double t_ms) {
        if (!(t_ms >= 0.0) || !std::isfinite(t_ms)) throw py::value_error("run_until: t_ms must be finite and >= 0");
        const Tick end = sim_->time().round(t_ms);
        const auto t0 = std::chrono::steady_clock::now();
        {
            py::gil_scoped_release unlocked;
            arena_.execute([&] { sim_->run_until(end); });
        }
        wall_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

    Simulation& sim() { return *sim_; }
    const Simulation& sim() const { return *sim_; }
    const io::LoadedSpec& spec() const { return spec_; }
    double wall_s() const { return wall_s_; }

private:
    io::LoadedSpec spec_;
    tbb::task_arena arena_;
    std::unique_ptr<Simulation> sim_;
    double wall_s_ = 0.0;
};

std::size_t check_population(const Simulation& s, std::size_t p) {
    if (p >= s.num_populations()) throw py::index_error("population index out of range");
    return p;
}

std::uint32_t check_neuron(const Simulation& s, std::size_t p, std::int64_t n) {
    const std::uint32_t size = s.population(check_population(s, p)).size();
    if (n < 0 || n >= size)
        throw py::index_error("neuron " + std::to_string(n) + " of population \"" + s.population(p).name() +
                              "\": expected 0 to " + std::to_string(size - 1));
    return static_cast<std::uint32_t>(n);
}

// Columns t (ticks), population, neuron of every recorded spike, in output order.
py::dict spikes(const PySimulation& ps) {
    return columns(ps.sim().sorted_spikes(), std::pair{"t_ticks", [](const SpikeRecord& r) { return r.t; }},
                   std::pair{"population", [](const SpikeRecord& r) { return r.population; }},
                   std::pair{"neuron", [](const SpikeRecord& r) { return r.neuron; }});
}

// Columns of samples (t in ticks, probe, a key, the value); the Python side
// reshapes each probe's rows into (time, neuron or synapse).
template <class Sample, class Key, class Value>
py::dict samples(const std::vector<Sample>& all, Key key, Value value) {
    return columns(all, std::pair{"t_ticks", [](const Sample& r) { return r.t; }},
                   std::pair{"probe", [](const Sample& r) { return r.probe; }}, std::pair{"key", key},
                   std::pair{"value", value});
}

py::dict weights_now(const PySimulation& ps, std::size_t projection) {
    if (projection >= ps.sim().num_projections()) throw py::index_error("projection index out of range");
    return columns(ps.sim().weights_now(projection), std::pair{"pre", [](const WeightSample& r) { return r.pre; }},
                   std::pair{"post", [](const WeightSample& r) { return r.post; }},
                   std::pair{"w", [](const WeightSample& r) { return r.w; }});
}

// Voltage probe k's samples: t_ticks (one per sample time) and values
// (sample-major: samples x the probe's neurons, flat), copied straight from
// the values the simulation holds (8 bytes a sample; no rows are built).
py::dict voltage_trace(const PySimulation& ps, std::size_t k) {
    const Simulation& s = ps.sim();
    if (k >= s.spec().record.voltages.size()) throw py::index_error("voltage probe index out of range");
    const std::vector<Tick> t = s.voltage_times(k);
    const std::vector<double>& v = s.voltage_values(k);
    py::array_t<std::int64_t> t_ticks(static_cast<py::ssize_t>(t.size()));
    std::copy(t.begin(), t.end(), t_ticks.mutable_data());
    py::array_t<double> values(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), values.mutable_data());
    py::dict d;
    d["t_ticks"] = t_ticks;
    d["values"] = values;
    return d;
}

py::array_t<double> voltages_now(PySimulation& ps, std::size_t p) {
    Simulation& s = ps.sim();
    const std::uint32_t n = s.population(check_population(s, p)).size();
    py::array_t<double> v(n);
    auto vv = v.mutable_unchecked<1>();
    for (std::uint32_t i = 0; i < n; ++i) vv(i) = s.observe_voltage(p, i);
    return v;
}

// The neurons a voltage or rate probe watches, or the (pre, post) pairs of a weight probe.
std::vector<std::uint32_t> probe_neurons(const Simulation& s, const std::string& kind, std::size_t k) {
    const RecordSpec& r = s.spec().record;
    const auto neurons_of = [&](const std::string& population, const std::vector<std::uint32_t>& listed) {
        if (!listed.empty()) return listed;
        std::uint32_t size = 0;
        for (std::size_t p = 0; p < s.num_populations(); ++p)
            if (s.population(p).name() == population) size = s.population(p).size();
        std::vector<std::uint32_t> all(size);
        for (std::uint32_t i = 0; i < size; ++i) all[i] = i;
        return all;
    };
    if (kind == "voltage" && k < r.voltages.size()) return neurons_of(r.voltages[k].population, r.voltages[k].neurons);
    if (kind == "rate" && k < r.rates.size()) return neurons_of(r.rates[k].population, r.rates[k].neurons);
    throw py::index_error(kind + " probe index out of range");
}

py::dict population_info(const Simulation& s, std::size_t p) {
    const Population& pop = s.population(check_population(s, p));
    py::dict d;
    d["name"] = pop.name();
    d["model"] = std::string(pop.model());
    d["size"] = pop.size();
    d["is_neuron"] = pop.is_neuron();
    return d;
}

py::dict projection_info(const Simulation& s, std::size_t j) {
    if (j >= s.num_projections()) throw py::index_error("projection index out of range");
    const Projection& pj = s.projection(j);
    py::dict d;
    d["name"] = pj.name();
    d["source"] = s.population(pj.source_population()).name();
    d["target"] = s.population(pj.target_population()).name();
    d["synapses"] = pj.num_synapses();
    d["learns"] = pj.learns();
    const auto& plasticity = s.spec().projections[j].plasticity;
    d["voltage_rule"] = plasticity.has_value() && std::holds_alternative<VoltageSlopeParams>(plasticity->rule);
    return d;
}

py::dict summary(const Simulation& s, std::size_t p) {
    const PopulationSummary x = s.summary(check_population(s, p));
    py::dict d;
    d["name"] = x.name;
    d["model"] = x.model;
    d["neurons"] = x.neurons;
    d["spikes"] = x.spikes;
    d["mean_rate_hz"] = x.mean_rate_hz;
    d["mean_cv_isi"] = x.has_cv ? py::object(py::float_(x.mean_cv_isi)) : py::object(py::none());
    return d;
}

void bind_spec(py::module_& m) {
    py::class_<io::LoadedSpec>(m, "LoadedSpec", "A validated spec, ready to simulate.")
        .def_readonly("hash", &io::LoadedSpec::hash)
        .def_readonly("origin", &io::LoadedSpec::origin)
        .def_property_readonly("seed", [](const io::LoadedSpec& s) { return s.spec.run.seed; })
        .def_property_readonly("duration_ms", [](const io::LoadedSpec& s) { return s.spec.run.duration_ms; });
    // base_dir: where files the spec names by a relative path are read from ("": the working directory).
    m.def(
        "load_text",
        [](const std::string& text, const std::string& origin, std::optional<std::uint64_t> seed,
           std::optional<double> duration_ms, const std::string& base_dir) {
            return io::load_spec_text(text, origin, overrides(seed, duration_ms), base_dir);
        },
        py::arg("text"), py::arg("origin"), py::arg("seed") = py::none(), py::arg("duration_ms") = py::none(),
        py::arg("base_dir") = "");
    m.def(
        "load_binary",
        [](const py::bytes& bytes, const std::string& origin, std::optional<std::uint64_t> seed,
           std::optional<double> duration_ms, const std::string& base_dir) {
            return io::load_spec_binary(std::string(bytes), origin, overrides(seed, duration_ms), base_dir);
        },
        py::arg("data"), py::arg("origin"), py::arg("seed") = py::none(), py::arg("duration_ms") = py::none(),
        py::arg("base_dir") = "");
    m.def("record_of", [](const io::LoadedSpec& s) {
        py::dict d;
        py::list v, r, w;
        // Populations with recorded spikes: whole (record.spikes) or some neurons (record.spike_probe).
        std::vector<std::string> spiking = s.spec.record.spike_populations;
        for (const auto& p : s.spec.record.spike_probes) spiking.push_back(p.population);
        d["spikes"] = py::cast(spiking);
        py::list pr;
        for (const auto& p : s.spec.record.population_rates) pr.append(p.population);
        d["population_rates"] = pr;
        for (const auto& p : s.spec.record.voltages) v.append(p.population);
        for (const auto& p : s.spec.record.rates) r.append(p.population);
        for (const auto& p : s.spec.record.weights) w.append(p.projection);
        d["voltages"] = v;
        d["rates"] = r;
        d["weights"] = w;
        return d;
    });
    m.def("version", &io::version);
    m.def("default_threads", [] { return tbb::info::default_concurrency(); });
}

void bind_controls(py::class_<PySimulation>& c) {
    c.def("set_rate",
          [](PySimulation& ps, std::size_t p, std::int64_t n, double hz) {
              if (!std::isfinite(hz) || hz < 0.0) throw py::value_error("rate_hz must be finite and >= 0");
              ps.sim().set_rate(p, check_neuron(ps.sim(), p, n), hz);
          })
        .def("set_drive",
             [](PySimulation& ps, std::size_t p, std::int64_t n, double mV) {
                 if (!std::isfinite(mV)) throw py::value_error("drive_mV must be finite");
                 ps.sim().set_drive(p, check_neuron(ps.sim(), p, n), mV);
             })
        .def("set_plasticity_gain", [](PySimulation& ps, std::size_t j, double gain) {
            if (!std::isfinite(gain)) throw py::value_error("gain must be finite");
            if (j >= ps.sim().num_projections()) throw py::index_error("projection index out of range");
            ps.sim().set_plasticity_gain(j, gain);
        });
}

void bind_simulation(py::module_& m) {
    py::class_<PySimulation> c(m, "Simulation");
    c.def(py::init<const io::LoadedSpec&, unsigned, bool>(), py::arg("spec"), py::arg("threads"), py::arg("exact"))
        .def("run_until_ms", &PySimulation::run_until_ms)
        .def_property_readonly("now_ticks", [](const PySimulation& ps) { return ps.sim().now(); })
        .def_property_readonly("duration_ticks", [](const PySimulation& ps) { return ps.sim().duration_ticks(); })
        .def_property_readonly("ticks_per_ms", [](const PySimulation& ps) { return ps.sim().time().ticks_per_ms(); })
        .def_property_readonly("decimal_digits", [](const PySimulation& ps) { return ps.sim().time().digits(); })
        .def_property_readonly("partitions", [](const PySimulation& ps) { return ps.sim().partitions(); })
        .def_property_readonly("lookahead_ticks", [](const PySimulation& ps) { return ps.sim().lookahead(); })
        .def_property_readonly("wall_s", &PySimulation::wall_s)
        .def_property_readonly("events_processed", [](const PySimulation& ps) { return ps.sim().events_processed(); })
        .def_property_readonly("synaptic_events", [](const PySimulation& ps) { return ps.sim().synaptic_events(); })
        .def_property_readonly("num_populations", [](const PySimulation& ps) { return ps.sim().num_populations(); })
        .def_property_readonly("num_projections", [](const PySimulation& ps) { return ps.sim().num_projections(); })
        .def("population_info", [](const PySimulation& ps, std::size_t p) { return population_info(ps.sim(), p); })
        .def("projection_info", [](const PySimulation& ps, std::size_t j) { return projection_info(ps.sim(), j); })
        .def("summary", [](const PySimulation& ps, std::size_t p) { return summary(ps.sim(), p); })
        .def("spikes", &spikes)
        .def("voltage_trace", &voltage_trace)
        .def("rates",
             [](const PySimulation& ps) {
                 return samples(ps.sim().rate_samples(), [](const RateSample& s) { return s.neuron; },
                                [](const RateSample& s) { return s.rate_hz; });
             })
        .def("weight_samples",
             [](const PySimulation& ps) {
                 py::dict d = samples(ps.sim().weight_samples(), [](const WeightSample& s) { return s.pre; },
                                      [](const WeightSample& s) { return s.w; });
                 add_column(d, ps.sim().weight_samples(), "post", [](const WeightSample& s) { return s.post; });
                 return d;
             })
        .def("population_rates",
             [](const PySimulation& ps) {
                 using R = PopulationRateSample;
                 return columns(ps.sim().population_rates(), std::pair{"t_ticks", [](const R& r) { return r.t; }},
                                std::pair{"probe", [](const R& r) { return r.probe; }},
                                std::pair{"spikes", [](const R& r) { return r.spikes; }},
                                std::pair{"rate_hz", [](const R& r) { return r.rate_hz; }});
             })
        .def("weights_now", &weights_now)
        .def("voltages_now", &voltages_now)
        .def("probe_neurons",
             [](const PySimulation& ps, const std::string& kind, std::size_t k) {
                 return probe_neurons(ps.sim(), kind, k);
             })
        .def("write_outputs", [](const PySimulation& ps, const std::string& dir, const std::string& format) {
            const std::optional<io::OutputFormat> f = io::parse_output_format(format);
            if (!f) throw py::value_error("format = \"" + format + "\": expected \"csv\" or \"npy\"");
            io::write_run_outputs(dir, ps.sim(), ps.spec(), io::RunInfo{ps.spec().origin, ps.wall_s(), *f});
        });
    bind_controls(c);
    // The engine's state as bytes (Simulation::save_state): the caller keeps
    // them with the spec, seed and threads they belong to.
    c.def("save_state",
          [](const PySimulation& ps) {
              std::string state;
              {
                  py::gil_scoped_release unlocked;
                  state = ps.sim().save_state();
              }
              return py::bytes(state);
          })
        .def("load_state", [](PySimulation& ps, const py::bytes& data) {
            const std::string state = data;
            try {
                py::gil_scoped_release unlocked;
                ps.sim().load_state(state);
            } catch (const StateMismatch& e) {
                throw py::value_error(std::string("the state does not fit this simulation: ") + e.what());
            } catch (const std::logic_error& e) {
                throw py::value_error(e.what());
            }
        });
}

}  // namespace
}  // namespace spikeem::python

PYBIND11_MODULE(_core, m) {
    m.doc() = "spikeem's engine (use the spikeem package, not this module)";
    py::register_exception<spikeem::io::SpecError>(m, "SpecError", PyExc_ValueError);
    spikeem::python::bind_spec(m);
    spikeem::python::bind_simulation(m);
    spikeem::python::bind_experiments(m);
}

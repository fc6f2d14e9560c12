// spikeem._core.stdp_curve: `spikeem stdp-curve` without files (io/cli_stdp.hpp).
#include <pybind11/stl.h>

#include "io/cli_stdp.hpp"
#include "python/experiments.hpp"

namespace py = pybind11;

namespace spikeem::python {
namespace {

// The curve's columns, every rule's rows in order (the CSV's rows), and each rule's stdp_curve.json text.
py::dict stdp_result(const io::StdpCurveResult& r) {
    std::vector<PairingResult> rows;
    std::vector<std::string> presets;
    py::list json;
    for (const io::StdpRuleCurve& c : r.rules) {
        rows.insert(rows.end(), c.results.begin(), c.results.end());
        presets.insert(presets.end(), c.results.size(), c.preset);
        json.append(io::stdp_protocol_json(r, c, false));
    }
    py::dict d;
    d["protocol"] = r.sweep.protocol;
    d["all_presets"] = r.all_presets;
    d["preset"] = strings_of(presets, [](const std::string& s) { return s; });
    d["frequency_hz"] = column_of<double>(rows, [](const PairingResult& q) { return q.frequency_hz; });
    d["dt_ms"] = column_of<double>(rows, [](const PairingResult& q) { return q.dt_ms; });
    d["dw"] = column_of<double>(rows, [](const PairingResult& q) { return q.dw_mV; });
    d["dw_rel"] = column_of<double>(rows, [](const PairingResult& q) { return q.dw_rel; });
    d["json"] = json;
    return d;
}

}  // namespace

void bind_stdp(py::module_& m) {
    m.def(
        "stdp_curve",
        [](std::string rule, double a_plus_mV, double a_minus_mV, double tau_plus_ms, double tau_minus_ms,
           std::string pairing, std::string preset, std::string dependence, double mu_plus, double mu_minus,
           double w_min_mV, std::optional<double> w_max_mV, double dendritic_delay_ms, std::optional<std::string> spec,
           std::string protocol, double dt_min_ms, double dt_max_ms, double dt_step_ms, double frequency_hz,
           std::vector<double> frequencies_hz, double dt_ms, int pairings, std::optional<double> w0_mV,
           double axonal_delay_ms, int threads) {
            io::StdpCurveOptions o;
            o.rule = std::move(rule);
            o.a_plus_mV = a_plus_mV;
            o.a_minus_mV = a_minus_mV;
            o.tau_plus_ms = tau_plus_ms;
            o.tau_minus_ms = tau_minus_ms;
            o.pairing = std::move(pairing);
            o.preset = std::move(preset);
            o.dependence = std::move(dependence);
            o.mu_plus = mu_plus;
            o.mu_minus = mu_minus;
            o.w_min_mV = w_min_mV;
            o.w_max_mV = w_max_mV;
            o.dendritic_delay_ms = dendritic_delay_ms;
            o.spec = std::move(spec);
            o.protocol = std::move(protocol);
            o.dt_min_ms = dt_min_ms;
            o.dt_max_ms = dt_max_ms;
            o.dt_step_ms = dt_step_ms;
            o.frequency_hz = frequency_hz;
            o.frequencies_hz = std::move(frequencies_hz);
            o.dt_ms = dt_ms;
            o.pairings = pairings;
            o.w0_mV = w0_mV;
            o.axonal_delay_ms = axonal_delay_ms;
            o.threads = threads;
            return stdp_result(without_gil([&] { return io::run_stdp_curve(o); }));
        },
        py::kw_only(), py::arg("rule"), py::arg("a_plus_mV"), py::arg("a_minus_mV"), py::arg("tau_plus_ms"),
        py::arg("tau_minus_ms"), py::arg("pairing"), py::arg("preset"), py::arg("dependence"), py::arg("mu_plus"),
        py::arg("mu_minus"), py::arg("w_min_mV"), py::arg("w_max_mV").none(true), py::arg("dendritic_delay_ms"),
        py::arg("spec").none(true), py::arg("protocol"), py::arg("dt_min_ms"), py::arg("dt_max_ms"),
        py::arg("dt_step_ms"), py::arg("frequency_hz"), py::arg("frequencies_hz"), py::arg("dt_ms"),
        py::arg("pairings"), py::arg("w0_mV").none(true), py::arg("axonal_delay_ms"), py::arg("threads"),
        "spikeem stdp-curve's run (use spikeem.stdp_curve)");
}

}  // namespace spikeem::python

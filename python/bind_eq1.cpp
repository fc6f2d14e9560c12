// spikeem._core.eq1_curve and drift: `spikeem eq1-curve` and `spikeem drift`
// without files (io/cli_eq1.hpp).
#include <pybind11/stl.h>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "io/cli_eq1.hpp"
#include "python/experiments.hpp"

namespace py = pybind11;

namespace spikeem::python {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The columns of eq1_curve.csv: empty bins have no mean, bins of one pair no standard error (NaN, "nan" in the CSV).
py::dict bin_columns(const std::vector<eq1::Bin>& bins) {
    py::dict d;
    d["dT_ms"] = column_of<double>(bins, [](const eq1::Bin& b) { return b.centre_dT_ms; });
    d["mean_dw"] = column_of<double>(bins, [](const eq1::Bin& b) { return b.n ? b.mean_dW : kNaN; });
    d["sem"] = column_of<double>(bins, [](const eq1::Bin& b) { return b.n > 1 ? b.sem_dW : kNaN; });
    d["n"] = column_of<std::int64_t>(bins, [](const eq1::Bin& b) { return b.n; });
    return d;
}

py::dict eq1_result(const io::Eq1CurveResult& r) {
    py::dict d;
    d["curve"] = bin_columns(r.curve.bins);
    d["network"] = r.network ? py::object(bin_columns(r.network->bins)) : py::object(py::none());
    const auto& p = r.parametric.parametric;
    using Row = eq1::ParametricPoint;
    py::dict par;
    par["slope_per_ms"] = column_of<double>(p, [](const Row& q) { return q.slope_per_ms; });
    par["mean_dT_ms"] = column_of<double>(p, [](const Row& q) { return q.mean_dT_ms; });
    par["sem_dT_ms"] = column_of<double>(p, [](const Row& q) { return q.sem_dT_ms; });
    par["mean_dw"] = column_of<double>(p, [](const Row& q) { return q.mean_dW; });
    par["pairs"] = column_of<std::int64_t>(p, [](const Row& q) { return q.pairs; });
    par["trials"] = column_of<std::int64_t>(p, [](const Row& q) { return q.trials; });
    d["parametric"] = par;
    d["json"] = io::eq1_fit_json(r);
    return d;
}

// The columns of drift.csv (zero: drift_zero_integral.csv, its window's rule and seeds in every row).
py::dict drift_columns(const DriftOptions& o, const std::vector<DriftRow>& rows, bool zero) {
    py::dict d;
    d["pairing"] = strings_of(rows, [](const DriftRow& r) { return io::drift_pairing_name(r.c.pairing); });
    if (zero) {
        d["a_plus_mV"] = column_of<double>(rows, [&](const DriftRow&) { return o.rule.a_plus_mV; });
        d["a_minus_mV"] = column_of<double>(rows, [&](const DriftRow&) { return o.rule.a_minus_mV; });
        d["tau_plus_ms"] = column_of<double>(rows, [&](const DriftRow&) { return o.rule.tau_plus_ms; });
        d["tau_minus_ms"] = column_of<double>(rows, [&](const DriftRow&) { return o.rule.tau_minus_ms; });
    }
    d["r_pre_hz"] = column_of<double>(rows, [](const DriftRow& r) { return r.c.r_pre_hz; });
    d["r_post_hz"] = column_of<double>(rows, [](const DriftRow& r) { return r.c.r_post_hz; });
    d["r_post_slope_hz_per_s"] = column_of<double>(rows, [](const DriftRow& r) { return r.c.r_post_slope_hz_per_s; });
    if (zero) d["seeds"] = column_of<std::int64_t>(rows, [&](const DriftRow&) { return o.seeds; });
    d["measured_mV_per_s"] = column_of<double>(rows, [](const DriftRow& r) { return r.measured_mV_per_s; });
    d["sem_mV_per_s"] = column_of<double>(rows, [](const DriftRow& r) { return r.sem_mV_per_s; });
    d["identity_mV_per_s"] = column_of<double>(rows, [](const DriftRow& r) { return r.identity_mV_per_s; });
    d["expected_mV_per_s"] = column_of<double>(rows, [](const DriftRow& r) { return r.expected_mV_per_s; });
    if (zero) d["z_resolved"] = column_of<double>(rows, io::drift_z_resolved);
    d["z_identity"] = column_of<double>(rows, io::drift_z_identity);
    if (!zero) d["z_expected"] = column_of<double>(rows, io::drift_z_expected);
    return d;
}

// The trials count as the command line reads it (unsigned); a negative one is refused here.
std::uint64_t trial_count(std::int64_t trials) {
    if (trials < 0) throw py::value_error(fmt::format("trials = {}: expected a count > 0", trials));
    return static_cast<std::uint64_t>(trials);
}

}  // namespace

void bind_eq1(py::module_& m) {
    m.def(
        "eq1_curve",
        [](std::int64_t trials, std::string firing, bool reset, double noise, double slope_std,
           std::vector<double> slope_grid, double bin_ms, double window_ms, std::string pairing,
           double network_duration_ms, std::string network_estimate, bool network_reset, double network_block_ms,
           std::uint64_t seed, int threads, bool progress) {
            io::Eq1CurveOptions o;
            o.trials = trial_count(trials);
            o.firing = std::move(firing);
            o.reset = reset;
            o.noise = noise;
            o.slope_std = slope_std;
            o.slope_grid = std::move(slope_grid);
            o.bin_ms = bin_ms;
            o.window_ms = window_ms;
            o.pairing = std::move(pairing);
            o.network_duration_ms = network_duration_ms;
            o.network_estimate = std::move(network_estimate);
            o.network_reset = network_reset;
            o.network_block_ms = network_block_ms;
            o.seed = seed;
            o.threads = threads;
            o.progress = progress ? io::ProgressMode::Auto : io::ProgressMode::Never;
            return eq1_result(without_gil([&] { return io::run_eq1_curve(o); }));
        },
        py::kw_only(), py::arg("trials"), py::arg("firing"), py::arg("reset"), py::arg("noise"), py::arg("slope_std"),
        py::arg("slope_grid"), py::arg("bin_ms"), py::arg("window_ms"), py::arg("pairing"),
        py::arg("network_duration_ms"), py::arg("network_estimate"), py::arg("network_reset"),
        py::arg("network_block_ms"), py::arg("seed"), py::arg("threads"), py::arg("progress"),
        "spikeem eq1-curve's run (use spikeem.eq1_curve)");
    m.def(
        "drift",
        [](int seeds, int zero_integral_seeds, double duration_ms, std::int64_t neurons, double a_plus_mV,
           double a_minus_mV, double tau_plus_ms, double tau_minus_ms, int threads, bool progress) {
            io::DriftCommandOptions o;
            o.seeds = seeds;
            o.zero_integral_seeds = zero_integral_seeds;
            o.duration_ms = duration_ms;
            o.neurons = neurons;
            o.a_plus_mV = a_plus_mV;
            o.a_minus_mV = a_minus_mV;
            o.tau_plus_ms = tau_plus_ms;
            o.tau_minus_ms = tau_minus_ms;
            o.threads = threads;
            o.progress = progress ? io::ProgressMode::Auto : io::ProgressMode::Never;
            const io::DriftResult r = without_gil([&] { return io::run_drift(o); });
            py::dict d;
            d["drift"] = drift_columns(r.given, r.rows, false);
            d["zero_integral"] = drift_columns(r.zero, r.zero_rows, true);
            d["wall_time_s"] = r.wall_s;
            return d;
        },
        py::kw_only(), py::arg("seeds"), py::arg("zero_integral_seeds"), py::arg("duration_ms"), py::arg("neurons"),
        py::arg("a_plus_mV"), py::arg("a_minus_mV"), py::arg("tau_plus_ms"), py::arg("tau_minus_ms"),
        py::arg("threads"), py::arg("progress"), "spikeem drift's run (use spikeem.drift)");
}

}  // namespace spikeem::python

#pragma once
// `spikeem eq1-curve` and `spikeem drift` as data: their options, checked and
// run by run_eq1_curve and run_drift, which return what the commands write.
// The command line (io/cli_eq1.cpp) fills the options from its flags and
// writes the files; the Python module fills them from keyword arguments.  One
// set of checks: a bad value is a UsageError naming the option as a flag.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/drift.hpp"
#include "experiments/eq1_network.hpp"
#include "experiments/eq1_protocol.hpp"
#include "io/progress.hpp"

namespace spikeem::io {

// eq1-curve's options, with its defaults; names are the flags' with '_' for '-'.
struct Eq1CurveOptions {
    std::uint64_t trials = 200000;
    std::string firing = "stochastic";  // or deterministic
    bool reset = false;
    double noise = 0.0;       // Brownian noise on V (1/sqrt(ms)), stochastic firing only
    double slope_std = 0.02;  // std of the slope Vdot (1/ms)
    std::vector<double> slope_grid = {-0.08, -0.04, -0.02, -0.01, -0.005, 0.005, 0.01, 0.02, 0.04, 0.08};  // 1/ms
    double bin_ms = 5.0, window_ms = 100.0;
    std::string pairing = "nearest";  // nearest, first_after, last_before or all
    double network_duration_ms = 200000.0;  // 0: the full simulator is not run
    std::string network_estimate = "forward";  // forward, central or analytic
    bool network_reset = false;
    double network_block_ms = 5000.0;
    std::uint64_t seed = 1;
    int threads = 0;       // TBB workers while it runs (0: all cores); results do not depend on it
    ProgressMode progress = ProgressMode::Auto;  // what runs and progress lines on stderr (io/progress.hpp)
};

// The options checked: the stand-alone protocol with Gaussian slopes, the same
// on the slope grid (the parametric curve), and the full simulator.
struct Eq1Settings {
    eq1::ProtocolOptions curve, grid;
    Eq1NetworkOptions network;     // duration_ms 0: not run
    std::string firing, estimate;  // as given, for eq1_fit.json
};

struct Eq1CurveResult {
    Eq1Settings settings;
    eq1::ProtocolResult curve, parametric;
    std::optional<Eq1NetworkResult> network;
    double wall_s = 0.0;
};

Eq1CurveResult run_eq1_curve(const Eq1CurveOptions& options);

// eq1_fit.json.
std::string eq1_fit_json(const Eq1CurveResult& r);

// drift's options, with its defaults.
struct DriftCommandOptions {
    int seeds = 8, zero_integral_seeds = 16;
    double duration_ms = 100000.0;
    std::int64_t neurons = 100;  // pre and post neurons, all-to-all
    double a_plus_mV = 0.01, a_minus_mV = 0.0105, tau_plus_ms = 20.0, tau_minus_ms = 20.0;
    int threads = 0;
    ProgressMode progress = ProgressMode::Auto;  // progress lines on stderr (io/progress.hpp)
};

// The given window (every pairing scheme) and the zero-integral window.
struct DriftResult {
    DriftOptions given, zero;
    std::vector<DriftRow> rows, zero_rows;
    double wall_s = 0.0;
};

DriftResult run_drift(const DriftCommandOptions& options);

// The name of a pairing scheme in drift.csv.
const char* drift_pairing_name(Pairing p);

}  // namespace spikeem::io

namespace spikeem::io {

// The z columns of drift.csv and drift_zero_integral.csv: distances from the predictions in standard errors.
inline double drift_z_identity(const DriftRow& r) { return (r.measured_mV_per_s - r.identity_mV_per_s) / r.sem_mV_per_s; }
inline double drift_z_expected(const DriftRow& r) { return (r.measured_mV_per_s - r.expected_mV_per_s) / r.sem_mV_per_s; }
inline double drift_z_resolved(const DriftRow& r) { return r.measured_mV_per_s / r.sem_mV_per_s; }

}  // namespace spikeem::io

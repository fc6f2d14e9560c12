#pragma once
// `spikeem stdp-curve` as data: its options, checked and run by
// run_stdp_curve, which returns the curve.  The command line (io/cli_stdp.cpp)
// fills the options from its flags and writes the files; the Python module
// fills them from keyword arguments.  One set of checks: a bad value is a
// UsageError naming the option as a flag (--pairings), a bad --spec a SpecError.
#include <optional>
#include <string>
#include <vector>

#include "experiments/protocols.hpp"
#include "io/progress.hpp"

namespace spikeem::io {

// The command's options, with its defaults; names are the flags' with '_' for '-'.
struct StdpCurveOptions {
    // The rule (from these fields, or from `spec`).
    std::string rule = "pair";  // pair or triplet
    double a_plus_mV = 0.01, a_minus_mV = 0.005, tau_plus_ms = 16.8, tau_minus_ms = 33.7;
    std::string pairing = "all_to_all";
    std::string preset = "visual_all_to_all_full";  // triplet; "all": every preset (frequency protocol)
    std::string dependence = "additive";
    double mu_plus = 0.0, mu_minus = 0.0;
    double w_min_mV = 0.0;
    std::optional<double> w_max_mV;  // unset: no upper bound
    double dendritic_delay_ms = 0.0;
    std::optional<std::string> spec;  // a spec file: the first plastic projection's rule and dendritic delay
    // The protocol.
    std::string protocol = "pairing";  // pairing (dw against dt) or frequency (dw against frequency at +-dt_ms)
    double dt_min_ms = -100.0, dt_max_ms = 100.0, dt_step_ms = 1.0;
    double frequency_hz = 1.0;
    std::vector<double> frequencies_hz = {0.1, 1, 5, 10, 20, 30, 40, 50};
    double dt_ms = 10.0;
    int pairings = 60;
    std::optional<double> w0_mV;  // unset: 1 mV, or the middle of a spec rule's bounds when 1 mV lies outside
    double axonal_delay_ms = 1.0;
    int threads = 0;  // TBB workers while it runs (0: all cores); results do not depend on it
    ProgressMode progress = ProgressMode::Never;  // lines on stderr (io/progress.hpp); results do not depend on it
};

// The runs of a protocol: every dt at every frequency.
struct StdpSweep {
    std::string protocol;  // "pairing" or "frequency"
    std::vector<double> dts, freqs;
    bool pairing() const { return protocol == "pairing"; }
};

// One rule's curve: results in the order dt within frequency (frequency: -dt, +dt per frequency).
struct StdpRuleCurve {
    std::string preset;  // the triplet preset's name, "" unless the rule is a named preset
    PairingProtocol protocol;
    bool w0_from_bounds = false;  // w0 was moved to the middle of a spec rule's bounds
    std::vector<PairingResult> results;
};

struct StdpCurveResult {
    StdpSweep sweep;
    bool all_presets = false;         // preset "all": one curve per triplet preset
    std::vector<StdpRuleCurve> rules;  // one, or one per preset
    double wall_s = 0.0;
};

StdpCurveResult run_stdp_curve(const StdpCurveOptions& options);

// stdp_curve.json (one rule) or one element of stdp_frequency_presets.json.
std::string stdp_protocol_json(const StdpCurveResult& r, const StdpRuleCurve& c, bool plot_bi_poo);

}  // namespace spikeem::io

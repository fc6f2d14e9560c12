// `spikeem eq1-curve` (the STDP curve Eq. 1 produces, paper Fig. 1) and
// `spikeem drift` (pair STDP against its rate-form identity).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "io/cli_eq1.hpp"
#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "experiments/drift.hpp"
#include "experiments/eq1_network.hpp"
#include "experiments/eq1_protocol.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

std::string json_num(double x) { return std::isfinite(x) ? fmt::format("{}", x) : "null"; }
std::string csv_num(double x) { return std::isfinite(x) ? fmt::format("{}", x) : "nan"; }

std::string fit_json(const eq1::SideFit& f) {
    return fmt::format(
        "{{\"peak_dT_ms\": {}, \"bins_fitted\": {}, \"exponential\": {{\"tau_ms\": {}, \"amplitude\": {}, \"wsse\": {}, "
        "\"tau_at_bound\": {}}}, \"inverse\": {{\"amplitude_ms\": {}, \"wsse\": {}}}, \"better\": \"{}\"}}",
        f.has_peak ? json_num(f.peak_dT_ms) : "null", f.n_bins,
        f.exponential.ok ? json_num(f.exponential.tau_ms) : "null",
        f.exponential.ok ? json_num(f.exponential.amplitude) : "null",
        f.exponential.ok ? json_num(f.exponential.wsse) : "null", f.exponential.tau_at_bound,
        f.inverse.ok ? json_num(f.inverse.amplitude_ms) : "null", f.inverse.ok ? json_num(f.inverse.wsse) : "null",
        eq1::to_string(f.winner));
}

void write_bins(std::ofstream& out, const std::vector<eq1::Bin>& bins) {
    out << "dT_ms,mean_dw,sem,n\n";
    for (const auto& b : bins)
        out << fmt::format("{},{},{},{}\n", b.centre_dT_ms, b.n ? csv_num(b.mean_dW) : "nan",
                           b.n > 1 ? csv_num(b.sem_dW) : "nan", b.n);
}

CommandLine eq1_command_line() {
    CommandLine cmd("spikeem eq1-curve --out DIR [options]");
    po::options_description& opts = cmd.options();
    add_out_option(opts);
    opts.add_options()("trials", po::value<std::uint64_t>()->default_value(200000),
                       "protocol: trials (one pre spike each)")(
        "firing", po::value<std::string>()->default_value("stochastic"), "protocol: stochastic or deterministic")(
        "reset", "protocol: reset V after each post spike")(
        "noise", po::value<double>()->default_value(0.0), "protocol: Brownian noise on V (1/sqrt(ms)), stochastic only")(
        "slope-std", po::value<double>()->default_value(0.02), "protocol: std of the slope Vdot (1/ms)")(
        "slope-grid", po::value<std::string>()->default_value("-0.08,-0.04,-0.02,-0.01,-0.005,0.005,0.01,0.02,0.04,0.08"),
        "protocol: slopes (1/ms) of the parametric curve")(
        "bin-ms", po::value<double>()->default_value(5.0), "bin width (ms), 5 or 10 in the paper's protocol")(
        "window-ms", po::value<double>()->default_value(100.0),
        "pairs with |dT| up to this (ms); the per-slope curve widens it to 2 / min |slope|")(
        "pairing", po::value<std::string>()->default_value("nearest"), 
        "pairing of each pre spike with the post spikes within the window: nearest (the one nearest in time), "
        "first_after, last_before, or all")(
        "network-duration-ms", po::value<double>()->default_value(200000.0),
        "full simulator: simulated time (ms); 0 skips it")(
        "network-estimate", po::value<std::string>()->default_value("forward"),
        "full simulator: slope estimate, forward, central or analytic")(
        "network-reset", "full simulator: reset V to 0 after each post spike")(
        "network-block-ms", po::value<double>()->default_value(5000.0),
        "full simulator: length of the independent blocks behind the standard errors (ms)")(
        "seed", po::value<std::uint64_t>()->default_value(1), "random seed");
    add_threads_option(opts, 0, "worker threads (0: all); results do not depend on it");
    add_progress_options(opts);
    opts.add_options()("no-plot", "write the CSV and JSON only");
    add_help_option(opts);
    return cmd;
}

// The stand-alone protocol's options (curve and grid), checked.
void protocol_settings(const Eq1CurveOptions& o, Eq1Settings& s) {
    eq1::ProtocolOptions& p = s.curve;
    p.seed = o.seed;
    p.trials = o.trials;
    s.firing = o.firing;
    if (s.firing == "stochastic") p.firing = eq1::Firing::Stochastic;
    else if (s.firing == "deterministic") p.firing = eq1::Firing::Deterministic;
    else throw UsageError(fmt::format("--firing = \"{}\": expected stochastic or deterministic", s.firing));
    p.reset = o.reset;
    p.noise_sigma_per_sqrt_ms = o.noise;
    p.slope_std_per_ms = o.slope_std;
    p.bin_ms = o.bin_ms;
    p.window_ms = o.window_ms;
    bool known = false;
    for (auto q : {eq1::PostPairing::Nearest, eq1::PostPairing::FirstAfter, eq1::PostPairing::LastBefore,
                   eq1::PostPairing::All})
        if (o.pairing == eq1::to_string(q)) {
            p.pairing = q;
            known = true;
        }
    if (!known)
        throw UsageError(
            fmt::format("--pairing = \"{}\": expected nearest, first_after, last_before or all", o.pairing));
    s.grid = p;
    s.grid.slope_grid_per_ms = o.slope_grid;
    for (double sl : s.grid.slope_grid_per_ms)
        if (!(std::abs(sl) >= 1e-4))
            throw UsageError(fmt::format("--slope-grid: slope {} /ms: expected |slope| >= 1e-4 /ms (a slower "
                                         "slope needs a window beyond 20 s)",
                                         sl));
    try {
        eq1::validate(s.curve);
        s.grid = eq1::widen_for_grid(s.grid);
        eq1::validate(s.grid);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

// The full simulator's options (seed, window and bins as the protocol's), checked.
void network_settings(const Eq1CurveOptions& o, Eq1Settings& s) {
    Eq1NetworkOptions& n = s.network;
    n.seed = s.curve.seed;
    n.duration_ms = o.network_duration_ms;
    n.window_ms = s.curve.window_ms;
    n.bin_ms = s.curve.bin_ms;
    n.pairing = s.curve.pairing;
    n.block_ms = o.network_block_ms;
    if (!(n.block_ms >= 100.0 && n.block_ms <= 1e7))
        throw UsageError(fmt::format("--network-block-ms = {}: expected 100 to 1e7 (ms)", n.block_ms));
    s.estimate = o.network_estimate;
    if (s.estimate == "forward") n.estimate = SlopeEstimate::Forward;
    else if (s.estimate == "central") n.estimate = SlopeEstimate::Central;
    else if (s.estimate == "analytic") n.estimate = SlopeEstimate::Analytic;
    else throw UsageError(fmt::format("--network-estimate = \"{}\": expected forward, central or analytic", s.estimate));
    if (o.network_reset) n.neuron.v_reset_mV = 0.0;
    if (!(n.duration_ms >= 0 && n.duration_ms <= 1e8))
        throw UsageError(fmt::format("--network-duration-ms = {}: expected 0 to 1e8 (ms)", n.duration_ms));
}

// Runs the checked settings; unless `mode` is Never, a line on stderr says
// what each part runs, then progress lines follow.
void run_eq1(Eq1CurveResult& r, ProgressMode mode) {
    const Eq1Settings& s = r.settings;
    const bool say = mode != ProgressMode::Never;
    auto t0 = std::chrono::steady_clock::now();
    if (say)
        fmt::print(stderr, "eq1-curve: protocol, {} trials ({} firing, {} pairing)...\n", s.curve.trials, s.firing,
                   eq1::to_string(s.curve.pairing));
    {
        ProgressReporter progress("eq1-curve", double(s.curve.trials), ProgressUnit::count("trials"), mode);
        progress.set_part("protocol");
        r.curve = eq1::run_protocol(s.curve, progress.callback());
        progress.finish();
    }
    if (say)
        fmt::print(stderr, "eq1-curve: per-slope curve, {} slopes, window +-{} ms...\n",
                   s.grid.slope_grid_per_ms.size(), s.grid.window_ms);
    {
        ProgressReporter progress("eq1-curve", double(s.grid.trials), ProgressUnit::count("trials"), mode);
        progress.set_part("per-slope curve");
        r.parametric = eq1::run_protocol(s.grid, progress.callback());
        progress.finish();
    }
    if (s.network.duration_ms > 0) {
        if (say) fmt::print(stderr, "eq1-curve: full simulator, {} ms...\n", s.network.duration_ms);
        ProgressReporter progress("eq1-curve", s.network.duration_ms, ProgressUnit::simulated_ms(), mode);
        progress.set_part("full simulator");
        r.network = run_eq1_network(s.network, progress.callback());
        progress.finish();
        if (r.network->blocks < 2 && say)
            fmt::print(stderr,
                       "eq1-curve: warning: {} ms is less than 2 blocks of {} ms: the full simulator's standard "
                       "errors are not available (NaN)\n",
                       s.network.duration_ms, s.network.block_ms);
    }
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string eq1_fit_json(const Eq1CurveResult& r) {
    const Eq1Settings& s = r.settings;
    const eq1::ProtocolOptions& p = s.curve;
    std::string j = "{\n";
    j += fmt::format("  \"spikeem_version\": \"{}\",\n  \"seed\": {},\n", version(), p.seed);
    j += fmt::format("  \"pairing\": \"{}\",\n  \"firing\": \"{}\",\n  \"window_ms\": {},\n  \"bin_ms\": {},\n",
                     eq1::to_string(p.pairing), s.firing, p.window_ms, p.bin_ms);
    j += fmt::format(
        "  \"standard_errors\": \"between independent replicates: trials (protocol), blocks of block_ms "
        "(full simulator)\",\n");
    j += fmt::format("  \"parametric\": {{\"window_ms\": {}, \"trials\": {}}},\n", s.grid.window_ms,
                     s.grid.trials);
    j += fmt::format(
        "  \"protocol\": {{\"trials\": {}, \"firing\": \"{}\", \"reset\": {}, \"noise\": {}, \"slope_std_per_ms\": {}, "
        "\"pairs\": {},\n    \"ltp\": {},\n    \"ltd\": {}}},\n",
        p.trials, s.firing, p.reset, p.noise_sigma_per_sqrt_ms, p.slope_std_per_ms, r.curve.pairs,
        fit_json(r.curve.fits.ltp), fit_json(r.curve.fits.ltd));
    if (const auto& net = r.network) {
        const Eq1NetworkOptions& n = s.network;
        j += fmt::format(
            "  \"network\": {{\"duration_ms\": {}, \"estimate\": \"{}\", \"reset\": {}, \"slope_window_ms\": {}, "
            "\"blocks\": {}, \"block_ms\": {}, "
            "\"pre_spikes\": {}, \"post_spikes\": {}, \"post_rate_hz\": {}, \"pairs\": {},\n    \"ltp\": {},\n"
            "    \"ltd\": {}}},\n",
            n.duration_ms, s.estimate, n.neuron.v_reset_mV.has_value(), n.slope_window_ms, net->blocks, net->block_ms,
            net->pre_spikes,
            net->post_spikes, net->post_rate_hz, net->pairs, fit_json(net->fits.ltp), fit_json(net->fits.ltd));
    }
    j += fmt::format("  \"wall_time_s\": {}\n}}\n", r.wall_s);
    return j;
}

Eq1CurveResult run_eq1_curve(const Eq1CurveOptions& o) {
    Eq1CurveResult r;
    protocol_settings(o, r.settings);
    network_settings(o, r.settings);
    const tbb::global_control limit = thread_limit(o.threads);
    run_eq1(r, o.progress);
    return r;
}

namespace {

void write_eq1_outputs(const fs::path& out, const Eq1CurveResult& r) {
    fs::create_directories(out);
    OutputSet files(out);
    write_bins(files.add("eq1_curve.csv"), r.curve.bins);
    if (r.network) write_bins(files.add("eq1_curve_network.csv"), r.network->bins);
    else files.obsolete("eq1_curve_network.csv");
    auto& pc = files.add("eq1_parametric.csv");
    pc << "slope_per_ms,mean_dT_ms,sem_dT_ms,mean_dw,pairs,trials\n";
    for (const auto& q : r.parametric.parametric)
        pc << fmt::format("{},{},{},{},{},{}\n", q.slope_per_ms, csv_num(q.mean_dT_ms), csv_num(q.sem_dT_ms),
                          q.mean_dW, q.pairs, q.trials);
    files.add("eq1_fit.json") << eq1_fit_json(r);
    files.commit();
}

// Bins at |dT| = 2.5, 12.5 and 52.5 ms and the fits of both sides.
void print_curve(const char* what, const std::vector<eq1::Bin>& bins, const eq1::CurveFits& f) {
    fmt::print("{}:\n", what);
    for (const auto& b : bins)
        if (std::abs(std::abs(b.centre_dT_ms) - 52.5) < 1e-9 || std::abs(std::abs(b.centre_dT_ms) - 12.5) < 1e-9 ||
            std::abs(std::abs(b.centre_dT_ms) - 2.5) < 1e-9)
            fmt::print("  dT {:>+7.1f} ms: mean dW {:+.4e} +- {:.1e} (n = {})\n", b.centre_dT_ms, b.mean_dW, b.sem_dW,
                       b.n);
    for (const auto* side : {&f.ltp, &f.ltd})
        fmt::print("  {}: exponential tau {} ms, 1/dT amplitude {}; better: {}\n", side == &f.ltp ? "LTP" : "LTD",
                   side->exponential.ok ? fmt::format("{:.1f}", side->exponential.tau_ms) : "-",
                   side->inverse.ok ? fmt::format("{:.3g}", side->inverse.amplitude_ms) : "-",
                   eq1::to_string(side->winner));
}

void print_eq1_summary(const Eq1CurveResult& r, const fs::path& out) {
    const Eq1Settings& s = r.settings;
    fmt::print("pairing: {}; firing: {}\n", eq1::to_string(s.curve.pairing), s.firing);
    print_curve("stand-alone protocol", r.curve.bins, r.curve.fits);
    fmt::print("per slope (window +-{} ms): slope/ms -> mean dT ms\n ", s.grid.window_ms);
    for (const auto& q : r.parametric.parametric) fmt::print(" {:+g} -> {:+.2f};", q.slope_per_ms, q.mean_dT_ms);
    fmt::print("\n");
    if (const auto& net = r.network) {
        fmt::print("full simulator: {} pre spikes, {} post spikes ({:.2f} Hz), {} pairs, SE from {} blocks of {} ms\n",
                   net->pre_spikes, net->post_spikes, net->post_rate_hz, net->pairs, net->blocks, net->block_ms);
        print_curve("full simulator", net->bins, net->fits);
    }
    fmt::print("{:.2f} s wall; outputs in {}\n", r.wall_s, out.string());
}

// The options from the flags.
Eq1CurveOptions eq1_options(const po::variables_map& vm) {
    Eq1CurveOptions o;
    o.trials = vm["trials"].as<std::uint64_t>();
    o.firing = vm["firing"].as<std::string>();
    o.reset = vm.count("reset") > 0;
    o.noise = vm["noise"].as<double>();
    o.slope_std = vm["slope-std"].as<double>();
    o.slope_grid = number_list("slope-grid", vm["slope-grid"].as<std::string>());
    o.bin_ms = vm["bin-ms"].as<double>();
    o.window_ms = vm["window-ms"].as<double>();
    o.pairing = vm["pairing"].as<std::string>();
    o.network_duration_ms = vm["network-duration-ms"].as<double>();
    o.network_estimate = vm["network-estimate"].as<std::string>();
    o.network_reset = vm.count("network-reset") > 0;
    o.network_block_ms = vm["network-block-ms"].as<double>();
    o.seed = vm["seed"].as<std::uint64_t>();
    o.threads = vm["threads"].as<int>();
    o.progress = progress_mode(vm);
    return o;
}

}  // namespace

int cmd_eq1_curve(const std::vector<std::string>& args) {
    const CommandLine cmd = eq1_command_line();
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "1. The stand-alone protocol (docs/science.md, \"STDP curves and pairing\"): V(t) = V0 + Vdot t,\n"
            "   V0 ~ U[0, 1), Vdot ~ N(0, slope-std), threshold 1, one pre spike at 0, dW = eta Vdot (eta = 1),\n"
            "   post spikes at threshold crossings or with rate 0.2/ms sigmoid(10 (V - 1)); each pre spike\n"
            "   paired by --pairing.  The per-slope curve uses a window of at least 2 / min |slope| ms, so that\n"
            "   the slowest slope is not cut.  The ms time scale is set by the slope distribution.\n"
            "2. The full simulator: a stochastic neuron driven by 400 excitatory and 100 inhibitory\n"
            "   Poisson inputs, Eq. 1 at its synapses (dW in mV per unit eta = 1 ms), same pairing.\n"
            "Standard errors come from independent replicates: trials of the protocol, blocks of\n"
            "--network-block-ms of the network run.\n"
            "Writes eq1_curve.csv and eq1_curve_network.csv (dT_ms,mean_dw,sem,n), eq1_parametric.csv\n"
            "(one row per slope), eq1_fit.json (pairing, firing, tau+ and tau- of exponential and 1/dT fits,\n"
            "which fits better) and eq1_curve.png.\n");
    const Eq1CurveResult results = run_eq1_curve(eq1_options(vm));
    const fs::path out = vm["out"].as<std::string>();
    write_eq1_outputs(out, results);
    print_eq1_summary(results, out);
    return vm.count("no-plot") ? kExitOk : run_plot_script("stdp/plot_eq1_curve.py", out);
}

namespace {

DriftOptions drift_options(const DriftCommandOptions& c) {
    DriftOptions o;
    o.seeds = c.seeds;
    o.duration_ms = c.duration_ms;
    o.rule = PairStdpParams{c.a_plus_mV, c.a_minus_mV, c.tau_plus_ms, c.tau_minus_ms, Pairing::AllToAll};
    const int zero_seeds = c.zero_integral_seeds;
    if (o.seeds < 2 || o.seeds > 10000) throw UsageError(fmt::format("--seeds = {}: expected 2 to 10000", o.seeds));
    if (zero_seeds < 2 || zero_seeds > 10000)
        throw UsageError(fmt::format("--zero-integral-seeds = {}: expected 2 to 10000", zero_seeds));
    if (!(o.duration_ms >= 1000 && o.duration_ms <= 1e8))
        throw UsageError(fmt::format("--duration-ms = {}: expected 1000 to 1e8 (ms)", o.duration_ms));
    if (c.neurons < 1 || c.neurons > 10000)
        throw UsageError(fmt::format("--neurons = {}: expected 1 to 10000", c.neurons));
    o.pre_neurons = o.post_neurons = static_cast<std::uint32_t>(c.neurons);
    if (!(o.rule.tau_plus_ms > 0 && o.rule.tau_minus_ms > 0 && o.rule.a_plus_mV >= 0 && o.rule.a_minus_mV >= 0))
        throw UsageError("--a-plus-mV and --a-minus-mV must be >= 0, --tau-plus-ms and --tau-minus-ms > 0");
    return o;
}

// drift's first line on stdout, printed (and flushed) before the runs: what runs.
void print_drift_header(const DriftOptions& o) {
    fmt::print("pair STDP drift: A+ {} mV, A- {} mV, tau+ {} ms, tau- {} ms; {} x {} synapses, {} s, {} seeds\n",
               o.rule.a_plus_mV, o.rule.a_minus_mV, o.rule.tau_plus_ms, o.rule.tau_minus_ms, o.pre_neurons,
               o.post_neurons, o.duration_ms / 1000.0, o.seeds);
    std::fflush(stdout);
}

// drift.csv and its table on stdout: the given window, every pairing scheme.
void report_drift(OutputSet& files, const std::vector<DriftRow>& rows) {
    auto& csv = files.add("drift.csv");
    csv << "pairing,r_pre_hz,r_post_hz,r_post_slope_hz_per_s,measured_mV_per_s,sem_mV_per_s,identity_mV_per_s,"
           "expected_mV_per_s,z_identity,z_expected\n";
    fmt::print("{:<28} {:>6} {:>6} {:>8} {:>12} {:>10} {:>12} {:>12} {:>7} {:>7}\n", "pairing", "r_pre", "r_post",
               "dr/dt", "measured", "sem", "identity", "expected", "z_id", "z_exp");
    for (const auto& r : rows) {
        const double zi = drift_z_identity(r), ze = drift_z_expected(r);
        const char* name = drift_pairing_name(r.c.pairing);
        csv << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", name, r.c.r_pre_hz, r.c.r_post_hz,
                           r.c.r_post_slope_hz_per_s, r.measured_mV_per_s, r.sem_mV_per_s, r.identity_mV_per_s,
                           r.expected_mV_per_s, zi, ze);
        fmt::print("{:<28} {:>6} {:>6} {:>8.3f} {:>+12.4e} {:>10.2e} {:>+12.4e} {:>+12.4e} {:>+7.2f} {:>+7.2f}\n", name,
                   r.c.r_pre_hz, r.c.r_post_hz, r.c.r_post_slope_hz_per_s, r.measured_mV_per_s, r.sem_mV_per_s,
                   r.identity_mV_per_s, r.expected_mV_per_s, zi, ze);
    }
}

// drift_zero_integral.csv and its table: with int K = 0 the measured drift is
// the ramp term itself, so measured / sem says how well it is resolved.
void report_zero_integral(OutputSet& files, const DriftOptions& z, const std::vector<DriftRow>& rows) {
    auto& csv = files.add("drift_zero_integral.csv");
    csv << "pairing,a_plus_mV,a_minus_mV,tau_plus_ms,tau_minus_ms,r_pre_hz,r_post_hz,r_post_slope_hz_per_s,seeds,"
           "measured_mV_per_s,sem_mV_per_s,identity_mV_per_s,expected_mV_per_s,z_resolved,z_identity\n";
    const double int_tau_k_mV_s2 = (z.rule.a_plus_mV * z.rule.tau_plus_ms * z.rule.tau_plus_ms +
                                    z.rule.a_minus_mV * z.rule.tau_minus_ms * z.rule.tau_minus_ms) * 1e-6;
    fmt::print("\nzero-integral window: A- = A+ tau+ / tau- = {} mV, int K = 0, int tau K = {:.4e} mV s^2; "
               "{} seeds; the drift is r_pre dr_post/dt int tau K (the Eq. 1 term) alone\n",
               z.rule.a_minus_mV, int_tau_k_mV_s2, z.seeds);
    fmt::print("{:<12} {:>6} {:>6} {:>8} {:>12} {:>10} {:>12} {:>12} {:>10} {:>7}\n", "pairing", "r_pre", "r_post",
               "dr/dt", "measured", "sem", "identity", "expected", "meas/sem", "z_id");
    for (const auto& r : rows) {
        const double resolved = drift_z_resolved(r), zi = drift_z_identity(r);
        csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", drift_pairing_name(r.c.pairing),
                           z.rule.a_plus_mV, z.rule.a_minus_mV, z.rule.tau_plus_ms, z.rule.tau_minus_ms, r.c.r_pre_hz,
                           r.c.r_post_hz, r.c.r_post_slope_hz_per_s, z.seeds, r.measured_mV_per_s, r.sem_mV_per_s,
                           r.identity_mV_per_s, r.expected_mV_per_s, resolved, zi);
        fmt::print("{:<12} {:>6} {:>6} {:>8.3f} {:>+12.4e} {:>10.2e} {:>+12.4e} {:>+12.4e} {:>+10.2f} {:>+7.2f}\n",
                   drift_pairing_name(r.c.pairing), r.c.r_pre_hz, r.c.r_post_hz, r.c.r_post_slope_hz_per_s,
                   r.measured_mV_per_s, r.sem_mV_per_s, r.identity_mV_per_s, r.expected_mV_per_s, resolved, zi);
    }
}

}  // namespace

const char* drift_pairing_name(Pairing p) {
    static const char* const names[] = {"all_to_all", "nearest_symmetric", "nearest_presynaptic_centred"};
    return names[static_cast<int>(p)];
}

DriftResult run_drift(const DriftCommandOptions& c) {
    DriftResult r;
    r.given = drift_options(c);
    r.zero = r.given;
    r.zero.rule = zero_integral_window(r.given.rule);
    r.zero.seeds = c.zero_integral_seeds;
    const tbb::global_control limit = thread_limit(c.threads);
    // 3 rate pairs x 2 ramps x 3 pairing schemes; ramps keep the post rate positive over the run.
    const double T_s = r.given.duration_ms / 1000.0;
    std::vector<DriftCase> cases;
    for (Pairing pairing : {Pairing::AllToAll, Pairing::NearestSymmetric, Pairing::NearestPresynapticCentred})
        for (auto [rp, r0] : {std::pair{5.0, 5.0}, std::pair{10.0, 20.0}, std::pair{20.0, 10.0}})
            for (double ramp : {0.1 * r0 / T_s * 10.0, -0.5 * r0 / T_s})  // up to 2x, down to 0.5x of r0
                cases.push_back({rp, r0, ramp, pairing});
    auto t0 = std::chrono::steady_clock::now();
    const std::vector<DriftCase> zero_cases = zero_integral_cases(r.zero);
    // Both windows' runs on one count: they cost the same (duration and synapses).
    const std::size_t given_runs = cases.size() * std::size_t(r.given.seeds);
    ProgressReporter progress("drift", double(given_runs + zero_cases.size() * std::size_t(r.zero.seeds)),
                              ProgressUnit::count("runs"), c.progress);
    ProgressCallback done;
    progress.set_part("given window");
    if (c.progress != ProgressMode::Never) done = [&](std::size_t n, std::size_t) { progress.update(double(n)); };
    r.rows = measure_drift(r.given, cases, done);
    progress.set_part("zero-integral window");
    if (c.progress != ProgressMode::Never)
        done = [&](std::size_t n, std::size_t) { progress.update(double(given_runs + n)); };
    r.zero_rows = measure_drift(r.zero, zero_cases, done);
    progress.finish();
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

int cmd_drift(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem drift --out DIR [options]");
    po::options_description& opts = cmd.options();
    add_out_option(opts);
    opts.add_options()("seeds", po::value<int>()->default_value(8), "independent runs per case")(
        "zero-integral-seeds", po::value<int>()->default_value(16),
        "independent runs per case of the zero-integral window")(
        "duration-ms", po::value<double>()->default_value(100000.0), "simulated time per run (ms)")(
        "neurons", po::value<std::uint32_t>()->default_value(100), "pre and post neurons (all-to-all synapses)")(
        "a-plus-mV", po::value<double>()->default_value(0.01), "A+ (mV)")(
        "a-minus-mV", po::value<double>()->default_value(0.0105), "A- (mV)")(
        "tau-plus-ms", po::value<double>()->default_value(20.0), "tau+ (ms)")(
        "tau-minus-ms", po::value<double>()->default_value(20.0), "tau- (ms)");
    add_threads_option(opts, 0, "worker threads (0: all)");
    add_progress_options(opts);
    add_help_option(opts);
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "Pair STDP between independent Poisson trains, post rate ramping linearly: the measured mean\n"
            "drift against r_pre (r_post int K + dr_post/dt int tau K) (docs/science.md, \"The rule (Eq. 1)\")\n"
            "and against the exact expectation for the pairing scheme and duration, for the window given\n"
            "(every pairing scheme; DIR/drift.csv) and for the same window with A- = A+ tau+ / tau-, whose\n"
            "integral is zero, so that the drift is the Eq. 1 term r_pre dr_post/dt int tau K alone\n"
            "(all-to-all, r_pre 20 Hz, r_post ramping between 5 and 55 Hz over the run, up and down;\n"
            "DIR/drift_zero_integral.csv, with z_resolved = measured / sem).  Progress on stderr.\n");
    DriftCommandOptions c;
    c.seeds = vm["seeds"].as<int>();
    c.zero_integral_seeds = vm["zero-integral-seeds"].as<int>();
    c.duration_ms = vm["duration-ms"].as<double>();
    c.neurons = vm["neurons"].as<std::uint32_t>();
    c.a_plus_mV = vm["a-plus-mV"].as<double>();
    c.a_minus_mV = vm["a-minus-mV"].as<double>();
    c.tau_plus_ms = vm["tau-plus-ms"].as<double>();
    c.tau_minus_ms = vm["tau-minus-ms"].as<double>();
    c.threads = vm["threads"].as<int>();
    c.progress = progress_mode(vm);
    print_drift_header(drift_options(c));
    const DriftResult r = run_drift(c);
    const fs::path out = vm["out"].as<std::string>();
    fs::create_directories(out);
    OutputSet files(out);
    report_drift(files, r.rows);
    report_zero_integral(files, r.zero, r.zero_rows);
    files.commit();
    fmt::print("(drifts in mV/s; z = (measured - prediction) / sem)  {:.1f} s wall; {}, {}\n", r.wall_s,
               (out / "drift.csv").string(), (out / "drift_zero_integral.csv").string());
    return kExitOk;
}

}  // namespace spikeem::io

// `spikeem eq1-curve` (the STDP curve Eq. 1 produces, paper Fig. 1) and
// `spikeem drift` (pair STDP against its rate-form identity).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

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
        out << fmt::format("{},{},{},{}\n", b.centre_dT_ms, b.n ? json_num(b.mean_dW) : "nan",
                           b.n > 1 ? json_num(b.sem_dW) : "nan", b.n);
}

}  // namespace

int cmd_eq1_curve(const std::vector<std::string>& args) {
    po::options_description opts("spikeem eq1-curve --out DIR [options]");
    opts.add_options()("out,o", po::value<std::string>()->required(), "output folder")(
        "trials", po::value<std::uint64_t>()->default_value(200000), "protocol: trials (one pre spike each)")(
        "firing", po::value<std::string>()->default_value("stochastic"), "protocol: stochastic or deterministic")(
        "reset", "protocol: reset V after each post spike")(
        "noise", po::value<double>()->default_value(0.0), "protocol: Brownian noise on V (1/sqrt(ms)), stochastic only")(
        "slope-std", po::value<double>()->default_value(0.02), "protocol: std of the slope Vdot (1/ms)")(
        "slope-grid", po::value<std::string>()->default_value("-0.08,-0.04,-0.02,-0.01,-0.005,0.005,0.01,0.02,0.04,0.08"),
        "protocol: slopes (1/ms) of the parametric curve")(
        "bin-ms", po::value<double>()->default_value(5.0), "bin width (ms), 5 or 10 in the paper's protocol")(
        "window-ms", po::value<double>()->default_value(100.0), "pairs with |dT| up to this (ms)")(
        "network-duration-ms", po::value<double>()->default_value(200000.0),
        "full simulator: simulated time (ms); 0 skips it")(
        "network-estimate", po::value<std::string>()->default_value("forward"),
        "full simulator: slope estimate, forward, central or analytic")(
        "network-reset", "full simulator: reset V to 0 after each post spike")(
        "seed", po::value<std::uint64_t>()->default_value(1), "random seed")(
        "threads", po::value<int>()->default_value(0), "worker threads (0: all); results do not depend on it")(
        "no-plot", "write the CSV and JSON only")("help,h", "show this help");
    po::positional_options_description pos;
    auto vm = parse_args(args, opts, opts, pos);
    if (vm.count("help")) {
        std::cout << opts
                  << "\n1. The stand-alone protocol of SCIENCE.md section 2: V(t) = V0 + Vdot t, V0 ~ U[0, 1),\n"
                     "   Vdot ~ N(0, slope-std), threshold 1, one pre spike at 0, dW = eta Vdot (eta = 1),\n"
                     "   post spikes at threshold crossings or with rate 0.2/ms sigmoid(10 (V - 1)).\n"
                     "2. The full simulator: a stochastic neuron driven by 400 excitatory and 100 inhibitory\n"
                     "   Poisson inputs, Eq. 1 at its synapses (dW in mV per unit eta = 1 ms).\n"
                     "Writes eq1_curve.csv and eq1_curve_network.csv (dT_ms,mean_dw,sem,n), eq1_parametric.csv,\n"
                     "eq1_fit.json (tau+ and tau- of exponential and 1/dT fits, which fits better) and eq1_curve.png.\n";
        return kExitOk;
    }
    eq1::ProtocolOptions p;
    p.seed = vm["seed"].as<std::uint64_t>();
    p.trials = vm["trials"].as<std::uint64_t>();
    const std::string firing = vm["firing"].as<std::string>();
    if (firing == "stochastic") p.firing = eq1::Firing::Stochastic;
    else if (firing == "deterministic") p.firing = eq1::Firing::Deterministic;
    else throw UsageError(fmt::format("--firing = \"{}\": expected stochastic or deterministic", firing));
    p.reset = vm.count("reset") > 0;
    p.noise_sigma_per_sqrt_ms = vm["noise"].as<double>();
    p.slope_std_per_ms = vm["slope-std"].as<double>();
    p.bin_ms = vm["bin-ms"].as<double>();
    p.window_ms = vm["window-ms"].as<double>();
    eq1::ProtocolOptions grid = p;
    grid.slope_grid_per_ms = number_list("slope-grid", vm["slope-grid"].as<std::string>());
    try {
        eq1::validate(p);
        eq1::validate(grid);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    Eq1NetworkOptions n;
    n.seed = p.seed;
    n.duration_ms = vm["network-duration-ms"].as<double>();
    n.window_ms = p.window_ms;
    n.bin_ms = p.bin_ms;
    const std::string est = vm["network-estimate"].as<std::string>();
    if (est == "forward") n.estimate = SlopeEstimate::Forward;
    else if (est == "central") n.estimate = SlopeEstimate::Central;
    else if (est == "analytic") n.estimate = SlopeEstimate::Analytic;
    else throw UsageError(fmt::format("--network-estimate = \"{}\": expected forward, central or analytic", est));
    if (vm.count("network-reset")) n.neuron.v_reset_mV = 0.0;
    if (!(n.duration_ms >= 0 && n.duration_ms <= 1e8))
        throw UsageError(fmt::format("--network-duration-ms = {}: expected 0 to 1e8 (ms)", n.duration_ms));
    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());

    auto t0 = std::chrono::steady_clock::now();
    eq1::ProtocolResult curve = eq1::run_protocol(p);
    eq1::ProtocolResult param = eq1::run_protocol(grid);
    std::optional<Eq1NetworkResult> net;
    if (n.duration_ms > 0) net = run_eq1_network(n);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const fs::path out = vm["out"].as<std::string>();
    fs::create_directories(out);
    OutputSet files(out);
    write_bins(files.add("eq1_curve.csv"), curve.bins);
    if (net) write_bins(files.add("eq1_curve_network.csv"), net->bins);
    else files.obsolete("eq1_curve_network.csv");
    auto& pc = files.add("eq1_parametric.csv");
    pc << "slope_per_ms,mean_dT_ms,sem_dT_ms,mean_dw,pairs\n";
    for (const auto& q : param.parametric)
        pc << fmt::format("{},{},{},{},{}\n", q.slope_per_ms, json_num(q.mean_dT_ms), json_num(q.sem_dT_ms),
                          q.mean_dW, q.pairs);
    std::string j = "{\n";
    j += fmt::format("  \"spikeem_version\": \"{}\",\n  \"seed\": {},\n", version(), p.seed);
    j += fmt::format(
        "  \"protocol\": {{\"trials\": {}, \"firing\": \"{}\", \"reset\": {}, \"noise\": {}, \"slope_std_per_ms\": {}, "
        "\"pairs\": {},\n    \"ltp\": {},\n    \"ltd\": {}}},\n",
        p.trials, firing, p.reset, p.noise_sigma_per_sqrt_ms, p.slope_std_per_ms, curve.pairs, fit_json(curve.fits.ltp),
        fit_json(curve.fits.ltd));
    if (net)
        j += fmt::format(
            "  \"network\": {{\"duration_ms\": {}, \"estimate\": \"{}\", \"reset\": {}, \"slope_window_ms\": {}, \"pre_spikes\": {}, "
            "\"post_spikes\": {}, \"post_rate_hz\": {}, \"pairs\": {},\n    \"ltp\": {},\n    \"ltd\": {}}},\n",
            n.duration_ms, est, n.neuron.v_reset_mV.has_value(), n.slope_window_ms, net->pre_spikes, net->post_spikes, net->post_rate_hz, net->pairs,
            fit_json(net->fits.ltp), fit_json(net->fits.ltd));
    j += fmt::format("  \"wall_time_s\": {}\n}}\n", wall);
    files.add("eq1_fit.json") << j;
    files.commit();

    auto show = [](const char* what, const std::vector<eq1::Bin>& bins, const eq1::CurveFits& f) {
        fmt::print("{}:\n", what);
        for (const auto& b : bins)
            if (std::abs(std::abs(b.centre_dT_ms) - 52.5) < 1e-9 || std::abs(std::abs(b.centre_dT_ms) - 12.5) < 1e-9 ||
                std::abs(std::abs(b.centre_dT_ms) - 2.5) < 1e-9)
                fmt::print("  dT {:>+7.1f} ms: mean dW {:+.4e} +- {:.1e} (n = {})\n", b.centre_dT_ms, b.mean_dW,
                           b.sem_dW, b.n);
        for (const auto* side : {&f.ltp, &f.ltd})
            fmt::print("  {}: exponential tau {} ms, 1/dT amplitude {}; better: {}\n", side == &f.ltp ? "LTP" : "LTD",
                       side->exponential.ok ? fmt::format("{:.1f}", side->exponential.tau_ms) : "-",
                       side->inverse.ok ? fmt::format("{:.3g}", side->inverse.amplitude_ms) : "-",
                       eq1::to_string(side->winner));
    };
    show("stand-alone protocol", curve.bins, curve.fits);
    if (net) {
        fmt::print("full simulator: {} pre spikes, {} post spikes ({:.2f} Hz), {} pairs\n", net->pre_spikes,
                   net->post_spikes, net->post_rate_hz, net->pairs);
        show("full simulator", net->bins, net->fits);
    }
    fmt::print("{:.2f} s wall; outputs in {}\n", wall, out.string());
    return vm.count("no-plot") ? kExitOk : run_plot_script("stdp/plot_eq1_curve.py", out);
}

int cmd_drift(const std::vector<std::string>& args) {
    po::options_description opts("spikeem drift --out DIR [options]");
    opts.add_options()("out,o", po::value<std::string>()->required(), "output folder")(
        "seeds", po::value<int>()->default_value(8), "independent runs per case")(
        "duration-ms", po::value<double>()->default_value(100000.0), "simulated time per run (ms)")(
        "neurons", po::value<std::uint32_t>()->default_value(100), "pre and post neurons (all-to-all synapses)")(
        "a-plus-mV", po::value<double>()->default_value(0.01), "A+ (mV)")(
        "a-minus-mV", po::value<double>()->default_value(0.0105), "A- (mV)")(
        "tau-plus-ms", po::value<double>()->default_value(20.0), "tau+ (ms)")(
        "tau-minus-ms", po::value<double>()->default_value(20.0), "tau- (ms)")(
        "threads", po::value<int>()->default_value(0), "worker threads (0: all)")("help,h", "show this help");
    po::positional_options_description pos;
    auto vm = parse_args(args, opts, opts, pos);
    if (vm.count("help")) {
        std::cout << opts
                  << "\nPair STDP between independent Poisson trains, post rate ramping linearly: the measured mean\n"
                     "drift against r_pre (r_post int K + dr_post/dt int tau K) (SCIENCE.md section 1) and against\n"
                     "the exact expectation for the pairing scheme and duration.  Writes DIR/drift.csv.\n";
        return kExitOk;
    }
    DriftOptions o;
    o.seeds = vm["seeds"].as<int>();
    o.duration_ms = vm["duration-ms"].as<double>();
    o.pre_neurons = o.post_neurons = vm["neurons"].as<std::uint32_t>();
    o.rule = PairStdpParams{vm["a-plus-mV"].as<double>(), vm["a-minus-mV"].as<double>(), vm["tau-plus-ms"].as<double>(),
                            vm["tau-minus-ms"].as<double>(), Pairing::AllToAll};
    if (o.seeds < 2 || o.seeds > 10000) throw UsageError(fmt::format("--seeds = {}: expected 2 to 10000", o.seeds));
    if (!(o.duration_ms >= 1000 && o.duration_ms <= 1e8))
        throw UsageError(fmt::format("--duration-ms = {}: expected 1000 to 1e8 (ms)", o.duration_ms));
    if (o.pre_neurons < 1 || o.pre_neurons > 10000)
        throw UsageError(fmt::format("--neurons = {}: expected 1 to 10000", o.pre_neurons));
    if (!(o.rule.tau_plus_ms > 0 && o.rule.tau_minus_ms > 0 && o.rule.a_plus_mV >= 0 && o.rule.a_minus_mV >= 0))
        throw UsageError("--a-plus-mV and --a-minus-mV must be >= 0, --tau-plus-ms and --tau-minus-ms > 0");
    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());
    // 3 rate pairs x 2 ramps x 3 pairing schemes; ramps keep the post rate positive over the run.
    const double T_s = o.duration_ms / 1000.0;
    std::vector<DriftCase> cases;
    for (Pairing pairing : {Pairing::AllToAll, Pairing::NearestSymmetric, Pairing::NearestPresynapticCentred})
        for (auto [rp, r0] : {std::pair{5.0, 5.0}, std::pair{10.0, 20.0}, std::pair{20.0, 10.0}})
            for (double ramp : {0.1 * r0 / T_s * 10.0, -0.5 * r0 / T_s})  // up to 2x, down to 0.5x of r0
                cases.push_back({rp, r0, ramp, pairing});
    auto t0 = std::chrono::steady_clock::now();
    std::vector<DriftRow> rows = measure_drift(o, cases);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const fs::path out = vm["out"].as<std::string>();
    fs::create_directories(out);
    OutputSet files(out);
    auto& csv = files.add("drift.csv");
    csv << "pairing,r_pre_hz,r_post_hz,r_post_slope_hz_per_s,measured_mV_per_s,sem_mV_per_s,identity_mV_per_s,"
           "expected_mV_per_s,z_identity,z_expected\n";
    const char* names[] = {"all_to_all", "nearest_symmetric", "nearest_presynaptic_centred"};
    fmt::print("pair STDP drift: A+ {} mV, A- {} mV, tau+ {} ms, tau- {} ms; {} x {} synapses, {} s, {} seeds\n",
               o.rule.a_plus_mV, o.rule.a_minus_mV, o.rule.tau_plus_ms, o.rule.tau_minus_ms, o.pre_neurons,
               o.post_neurons, T_s, o.seeds);
    fmt::print("{:<28} {:>6} {:>6} {:>8} {:>12} {:>10} {:>12} {:>12} {:>7} {:>7}\n", "pairing", "r_pre", "r_post",
               "dr/dt", "measured", "sem", "identity", "expected", "z_id", "z_exp");
    for (const auto& r : rows) {
        const double zi = (r.measured_mV_per_s - r.identity_mV_per_s) / r.sem_mV_per_s;
        const double ze = (r.measured_mV_per_s - r.expected_mV_per_s) / r.sem_mV_per_s;
        const char* name = names[static_cast<int>(r.c.pairing)];
        csv << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", name, r.c.r_pre_hz, r.c.r_post_hz,
                           r.c.r_post_slope_hz_per_s, r.measured_mV_per_s, r.sem_mV_per_s, r.identity_mV_per_s,
                           r.expected_mV_per_s, zi, ze);
        fmt::print("{:<28} {:>6} {:>6} {:>8.3f} {:>+12.4e} {:>10.2e} {:>+12.4e} {:>+12.4e} {:>+7.2f} {:>+7.2f}\n", name,
                   r.c.r_pre_hz, r.c.r_post_hz, r.c.r_post_slope_hz_per_s, r.measured_mV_per_s, r.sem_mV_per_s,
                   r.identity_mV_per_s, r.expected_mV_per_s, zi, ze);
    }
    files.commit();
    fmt::print("(drifts in mV/s; z = (measured - prediction) / sem)  {:.1f} s wall; {}\n", wall,
               (out / "drift.csv").string());
    return kExitOk;
}

}  // namespace spikeem::io

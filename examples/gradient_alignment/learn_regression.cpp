// learn_regression: does spiking plasticity (Eq. 1) follow the gradient trajectory?
//
// A supervised layer (20 Poisson inputs -> 5 leaky stochastic outputs, no reset;
// V_j = offset_j + tau_m sum_i W_ij rho_i on average) learns a regression task
// of P = 4 input patterns rho_p with targets y_p = offset + tau_m W*^T rho_p
// (a ground-truth W*, so zero loss is reachable).  The spiking run cycles
// through the patterns: cycle c uses pattern p = c mod P; its free phase starts
// with learning off and, 2T later (once the previous nudge's last Eq. 1 probes
// have landed), sets the input rates to rho_p; V_j is averaged over the
// second half of the free phase (V_hat); the nudged phase
// adds the target current lambda (y_pj - V_hat_j) (drive raised by
// lambda tau_m (y_pj - V_hat_j)) with Eq. 1 on.  This is the protocol of
// experiments/gradcheck.cpp, whose expected weight change per cycle is exactly
//     E[dW] = g dJ_p/dW,   g = eta lambda F,   F = slope_factor(estimate, T, nudge, tau_m).
// In lockstep a rate model starts from the same W_0 and takes exactly that
// expected step per cycle: W_rate += g dJ_p/dW(W_rate) (objective::SupervisedLayer).
//
// Usage: learn_regression SPEC --out DIR [--epochs N] [--seed S] [--eta-ms E]
//                         [--task-seed K] [--no-plot]
// Writes DIR/learning.csv, DIR/learning.json (atomically, io::OutputSet) and,
// unless --no-plot, DIR/learning.png via plot_learning.py.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"
#include "experiments/gradcheck.hpp"
#include "experiments/objectives.hpp"

#ifndef LEARN_REGRESSION_PLOT_SCRIPT
#define LEARN_REGRESSION_PLOT_SCRIPT "examples/gradient_alignment/plot_learning.py"
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace spikeem;

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- the task (ours): fixed by the task seed, independent of the platform's <random>.
constexpr std::size_t kPatterns = 4;
constexpr double kRateLowHz = 5.0, kRateHighHz = 50.0;
constexpr double kWStarMv = 0.5;  // W*_ij uniform in [-kWStarMv, kWStarMv] mV
constexpr std::uint64_t kDefaultTaskSeed = 7;

struct SplitMix64 {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

struct Task {
    std::vector<std::vector<double>> rates_hz;  // [p][i]
    std::vector<std::vector<double>> y;         // [p][j], mV
    std::vector<double> w_star;                 // pre-major, mV
};

Task make_task(std::uint64_t seed, std::size_t n_in, std::size_t n_out, const std::vector<double>& offset, double tau) {
    SplitMix64 rng{seed};
    Task t;
    t.rates_hz.assign(kPatterns, std::vector<double>(n_in));
    for (auto& r : t.rates_hz)
        for (double& x : r) x = rng.uniform(kRateLowHz, kRateHighHz);
    t.w_star.resize(n_in * n_out);
    for (double& w : t.w_star) w = rng.uniform(-kWStarMv, kWStarMv);
    for (const auto& r : t.rates_hz) {
        std::vector<double> rho(n_in);
        for (std::size_t i = 0; i < n_in; ++i) rho[i] = r[i] / 1000.0;
        // y = V(W*) of the same rate model the losses use.
        objective::SupervisedLayer l(rho, std::vector<double>(n_out, 0.0), offset, tau);
        t.y.push_back(l.V(t.w_star));
    }
    return t;
}

double norm(const std::vector<double>& a) {
    double s = 0.0;
    for (double x : a) s += x * x;
    return std::sqrt(s);
}

std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> d(a.size());
    for (std::size_t k = 0; k < a.size(); ++k) d[k] = a[k] - b[k];
    return d;
}

// Splits d (pre-major, n_in x n_out) into its part in span{rho_p} (per output
// column: the only directions any gradient step moves) and the rest; returns
// (||span part||, ||null part||).
std::pair<double, double> split_norms(const std::vector<double>& d, const std::vector<std::vector<double>>& basis,
                                      std::size_t n_in, std::size_t n_out) {
    double in_span = 0.0, total = 0.0;
    for (std::size_t j = 0; j < n_out; ++j) {
        for (const auto& q : basis) {
            double c = 0.0;
            for (std::size_t i = 0; i < n_in; ++i) c += q[i] * d[i * n_out + j];
            in_span += c * c;
        }
        for (std::size_t i = 0; i < n_in; ++i) total += d[i * n_out + j] * d[i * n_out + j];
    }
    return {std::sqrt(in_span), std::sqrt(std::max(0.0, total - in_span))};
}

struct Row {
    std::size_t epoch;
    double t_ms, loss_spiking, loss_rate, rel_distance, rel_span, rel_null;
};

std::string num(double x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string("nan"); }

int run(int argc, char** argv) {
    po::options_description opts("learn_regression SPEC --out DIR [options]");
    opts.add_options()("help,h", "show this help")("out,o", po::value<std::string>(), "output folder (created if missing)")(
        "epochs", po::value<long long>(),
        "epochs (one epoch = one cycle per pattern); default: round(run.duration_ms / (P cycle_ms))")(
        "seed", po::value<std::uint64_t>(), "simulation seed: spikes and initial weights (default: the spec's run.seed)")(
        "eta-ms", po::value<double>(), "replace the rule's eta_ms (for tuning)")(
        "task-seed", po::value<std::uint64_t>()->default_value(kDefaultTaskSeed), "seed of the patterns and of W*")(
        "no-plot", "write the CSV and JSON only");
    po::options_description all = opts;
    all.add_options()("spec", po::value<std::string>(), "spec file");
    po::positional_options_description pos;
    pos.add("spec", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    if (vm.count("help")) {
        std::cout << opts
                  << "\nTrains the spec's supervised layer on P = 4 patterns with Eq. 1 (free/nudged cycles as in\n"
                     "`spikeem gradcheck`) and, in lockstep, a rate model from the same initial weights with the\n"
                     "expected step per cycle.  Writes DIR/learning.csv (epoch,t_ms,loss_spiking,loss_rate,\n"
                     "rel_distance,rel_distance_span,rel_distance_null), DIR/learning.json and DIR/learning.png.\n";
        return kExitOk;
    }
    if (!vm.count("spec")) throw UsageError("missing SPEC (a spec file with a supervised objective)");
    if (!vm.count("out")) throw UsageError("missing --out DIR");
    const std::string spec_path = vm["spec"].as<std::string>();
    io::SpecOverrides ov;
    if (vm.count("seed")) ov.seed = vm["seed"].as<std::uint64_t>();
    io::LoadedSpec loaded = io::load_spec_file(spec_path, ov);
    NetworkSpec spec = loaded.spec;

    // ---- the pieces the objective names (validated by the loader)
    if (!spec.objective) throw UsageError(spec_path + ": no objective: learn_regression needs objective { supervised { ... } }");
    const auto& obj = std::get<SupervisedObjectiveSpec>(spec.objective->kind);
    if (obj.gaussian) throw UsageError(spec_path + ": the objective is a gaussian_layer: learn_regression needs supervised");
    auto pop = [&](const std::string& name) {
        for (std::size_t i = 0; i < spec.populations.size(); ++i)
            if (spec.populations[i].name == name) return i;
        throw UsageError("no population " + name);
    };
    const std::size_t in = pop(obj.input), out = pop(obj.output);
    std::size_t proj = 0;
    for (std::size_t k = 0; k < spec.projections.size(); ++k)
        if (spec.projections[k].name == obj.projection) proj = k;
    auto& rule = std::get<VoltageSlopeParams>(spec.projections[proj].plasticity->rule);
    if (vm.count("eta-ms")) {
        const double e = vm["eta-ms"].as<double>();
        if (!(std::isfinite(e) && e > 0)) throw UsageError(fmt::format("--eta-ms = {}: expected > 0", e));
        rule.eta_ms = e;
    }
    const auto& neuron = std::get<StochasticParams>(spec.populations[out].model);
    const std::size_t n_in = spec.populations[in].size, n_out = spec.populations[out].size;
    const double tau = neuron.tau_m_ms;
    const double cycle_ms = obj.free_ms + obj.nudge_ms;
    const double settle_ms = 2.0 * rule.window_ms;
    if (!(obj.free_ms > 2.0 * settle_ms))
        throw UsageError(fmt::format("{}: free_ms = {} must exceed 4 x the rule's window ({} ms)", spec_path, obj.free_ms,
                                     2.0 * settle_ms));

    long long epochs = std::llround(spec.run.duration_ms / (static_cast<double>(kPatterns) * cycle_ms));
    if (vm.count("epochs")) epochs = vm["epochs"].as<long long>();
    if (epochs < 1 || epochs > 10000000)
        throw UsageError(fmt::format("--epochs = {}: expected 1 to 1e7", epochs));
    const std::uint64_t task_seed = vm["task-seed"].as<std::uint64_t>();

    const std::vector<double> offset(n_out, neuron.v_rest_mV + neuron.drive_mV);
    const Task task = make_task(task_seed, n_in, n_out, offset, tau);
    std::vector<objective::SupervisedLayer> layers;
    for (std::size_t p = 0; p < kPatterns; ++p) {
        std::vector<double> rho(n_in);
        for (std::size_t i = 0; i < n_in; ++i) rho[i] = task.rates_hz[p][i] / 1000.0;
        layers.emplace_back(rho, task.y[p], offset, tau);
    }
    // Orthonormal basis of span{rho_p} (Gram-Schmidt), for the distance split.
    std::vector<std::vector<double>> basis;
    for (const auto& r : task.rates_hz) {
        std::vector<double> v = r;
        for (int pass = 0; pass < 2; ++pass)
            for (const auto& q : basis) {
                double c = 0.0;
                for (std::size_t i = 0; i < n_in; ++i) c += q[i] * v[i];
                for (std::size_t i = 0; i < n_in; ++i) v[i] -= c * q[i];
            }
        const double nv = norm(v);
        if (nv > 1e-9 * norm(r)) {
            for (double& x : v) x /= nv;
            basis.push_back(v);
        }
    }
    auto loss = [&](const std::vector<double>& w) {
        double l = 0.0;
        for (const auto& layer : layers) l -= layer.J(w) / static_cast<double>(kPatterns);
        return l;
    };

    const double F = slope_factor(rule.estimate, rule.window_ms, obj.nudge_ms, tau);
    const double gain = rule.eta_ms * obj.nudge_per_ms * F;  // E[dW] per cycle = gain * dJ_p/dW

    // ---- the run
    const auto wall0 = std::chrono::steady_clock::now();
    const std::uint64_t cycles = static_cast<std::uint64_t>(epochs) * kPatterns;
    spec.run.duration_ms = static_cast<double>(cycles) * cycle_ms + settle_ms + 1.0;
    spec.record = RecordSpec{};
    Simulation sim(spec);
    const TimeBase& tb = sim.time();
    auto weights = [&] {
        std::vector<double> w(n_in * n_out, 0.0);
        for (const auto& x : sim.weights_now(proj)) w[std::size_t{x.pre} * n_out + x.post] = x.w;
        return w;
    };
    const std::vector<double> w0 = weights();
    std::vector<double> w_rate = w0;
    std::vector<Row> rows;
    auto record = [&](std::size_t epoch, double t_ms) {
        const std::vector<double> ws = weights();
        const double moved = norm(minus(w_rate, w0));
        const auto d = minus(ws, w_rate);
        const auto [span, null] = split_norms(d, basis, n_in, n_out);
        const double nan = std::nan("");
        rows.push_back({epoch, t_ms, loss(ws), loss(w_rate), moved > 0 ? norm(d) / moved : nan,
                        moved > 0 ? span / moved : nan, moved > 0 ? null / moved : nan});
    };
    record(0, 0.0);

    for (std::uint64_t c = 0; c <= cycles; ++c) {
        const double t = static_cast<double>(c) * cycle_ms;
        // Free phase: learning off, base drive, this cycle's pattern.
        sim.set_plasticity_gain(proj, 0.0);
        for (std::uint32_t j = 0; j < n_out; ++j) sim.set_drive(out, j, neuron.drive_mV);
        // Let the previous nudge's last probes (t + T) land, then read the epoch's weights.
        sim.run_until(tb.round(t + settle_ms));
        if (c > 0 && c % kPatterns == 0) record(c / kPatterns, t);
        if (c == cycles) break;
        // Only now switch the inputs to this cycle's pattern: switched at t, the new
        // pattern's voltage drift would enter the slopes read by those last probes
        // (a bias ~ rho_p (V_{p+1} - V_p), not part of E[dW] = g dJ/dW).
        const std::size_t p = c % kPatterns;
        for (std::uint32_t i = 0; i < n_in; ++i) sim.set_rate(in, i, task.rates_hz[p][i]);
        const std::vector<double> v_hat = free_phase_voltages(sim, out, n_out, t, obj.free_ms);
        // Nudged phase: target current lambda (y - V_hat), learning on.
        for (std::uint32_t j = 0; j < n_out; ++j)
            sim.set_drive(out, j, neuron.drive_mV + obj.nudge_per_ms * tau * (task.y[p][j] - v_hat[j]));
        sim.set_plasticity_gain(proj, 1.0);
        sim.run_until(tb.round(t + cycle_ms));
        // The rate model: exactly the expected step of this cycle.
        const std::vector<double> g = layers[p].dJ_dW(w_rate);
        for (std::size_t k = 0; k < g.size(); ++k) w_rate[k] += gain * g[k];
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

    // ---- outputs
    const fs::path dir = vm["out"].as<std::string>();
    fs::create_directories(dir);
    io::OutputSet files(dir);
    auto& csv = files.add("learning.csv");
    csv << "epoch,t_ms,loss_spiking,loss_rate,rel_distance,rel_distance_span,rel_distance_null\n";
    for (const auto& r : rows)
        csv << fmt::format("{},{},{},{},{},{},{}\n", r.epoch, r.t_ms, num(r.loss_spiking), num(r.loss_rate),
                           num(r.rel_distance), num(r.rel_span), num(r.rel_null));
    const Row& first = rows.front();
    const Row& last = rows.back();
    // The relative distance starts large (after a few cycles ||W_rate - W_0|| is
    // smaller than the noise of a few Eq. 1 updates): report it from the epoch on
    // which the rate model's loss has fallen by 10% ("learning under way").
    std::size_t under_way = rows.size() - 1;
    for (std::size_t k = 1; k < rows.size(); ++k)
        if (rows[k].loss_rate <= 0.9 * first.loss_rate) {
            under_way = k;
            break;
        }
    double max_rel = 0.0, min_rel = INFINITY;
    std::size_t min_at = under_way;
    for (std::size_t k = under_way; k < rows.size(); ++k) {
        max_rel = std::max(max_rel, rows[k].rel_distance);
        if (rows[k].rel_distance < min_rel) min_rel = rows[k].rel_distance, min_at = k;
    }
    auto list = [](const std::vector<double>& v) {
        std::string s = "[";
        for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + num(v[k]);
        return s + "]";
    };
    std::string rates_json = "[", y_json = "[";
    for (std::size_t p = 0; p < kPatterns; ++p) {
        rates_json += (p ? ",\n    " : "\n    ") + list(task.rates_hz[p]);
        y_json += (p ? ",\n    " : "\n    ") + list(task.y[p]);
    }
    rates_json += "\n  ]";
    y_json += "\n  ]";
    files.add("learning.json") << fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"spec\": \"{}\",\n  \"spec_hash\": \"{}\",\n  \"seed\": {},\n"
        "  \"task_seed\": {},\n  \"patterns\": {},\n  \"epochs\": {},\n  \"cycle_ms\": {},\n  \"eta_ms\": {},\n"
        "  \"nudge_per_ms\": {},\n  \"slope_factor_F\": {},\n  \"gain_per_cycle\": {},\n"
        "  \"loss_spiking_start\": {},\n  \"loss_spiking_end\": {},\n  \"loss_rate_start\": {},\n"
        "  \"loss_rate_end\": {},\n  \"rel_distance_end\": {},\n  \"rel_distance_span_end\": {},\n"
        "  \"rel_distance_null_end\": {},\n  \"epoch_under_way\": {},\n  \"rel_distance_max_from_under_way\": {},\n"
        "  \"rel_distance_min\": {},\n  \"rel_distance_min_epoch\": {},\n"
        "  \"rates_hz\": {},\n  \"targets_mV\": {},\n  \"w_star_mV\": {},\n  \"w0_mV\": {},\n"
        "  \"w_spiking_end_mV\": {},\n  \"w_rate_end_mV\": {},\n  \"wall_time_s\": {}\n}}\n",
        io::version(), spec_path, loaded.hash, spec.run.seed, task_seed, kPatterns, epochs, cycle_ms, rule.eta_ms,
        obj.nudge_per_ms, F, gain, num(first.loss_spiking), num(last.loss_spiking), num(first.loss_rate),
        num(last.loss_rate), num(last.rel_distance), num(last.rel_span), num(last.rel_null), under_way, num(max_rel),
        num(min_rel), min_at, rates_json, y_json, list(task.w_star), list(w0),
        list(weights()), list(w_rate), wall);
    files.commit();

    // ---- one screen
    fmt::print("{}: supervised layer {} -> {}, P = {} patterns (task seed {}), seed {}\n", spec_path, n_in, n_out,
               kPatterns, task_seed, spec.run.seed);
    fmt::print("eta = {} ms, lambda = {}/ms, T = {} ms, cycle = {} + {} ms; E[dW] per cycle = {:.4g} x dJ_p/dW (F = {:.4f})\n",
               rule.eta_ms, obj.nudge_per_ms, rule.window_ms, obj.free_ms, obj.nudge_ms, gain, F);
    fmt::print("{:>8} {:>10} {:>14} {:>14} {:>10} {:>10} {:>10}\n", "epoch", "t (s)", "loss spiking", "loss rate",
               "rel.dist", "(span)", "(null)");
    std::vector<std::size_t> show{0};
    for (double e = 1; e < static_cast<double>(epochs); e *= std::sqrt(10.0)) show.push_back(static_cast<std::size_t>(std::llround(e)));
    show.push_back(static_cast<std::size_t>(epochs));
    show.erase(std::unique(show.begin(), show.end()), show.end());
    for (std::size_t e : show) {
        const Row& r = rows[e];
        fmt::print("{:>8} {:>10.1f} {:>14.5g} {:>14.5g} {:>10.4f} {:>10.4f} {:>10.4f}\n", r.epoch, r.t_ms / 1000.0,
                   r.loss_spiking, r.loss_rate, r.rel_distance, r.rel_span, r.rel_null);
    }
    fmt::print("loss (mV^2): spiking {:.4g} -> {:.4g} ({:.1f}x), rate {:.4g} -> {:.4g} ({:.1f}x)\n", first.loss_spiking,
               last.loss_spiking, first.loss_spiking / last.loss_spiking, first.loss_rate, last.loss_rate,
               first.loss_rate / last.loss_rate);
    fmt::print("relative distance ||W_spiking - W_rate|| / ||W_rate - W_0||: {:.4f} at the end; from epoch {} (rate loss\n"
               "down 10%) on at most {:.4f}, at least {:.4f} (epoch {}); span/null split in the table: null = directions\n"
               "orthogonal to every pattern, which no gradient step moves and the loss does not see\n",
               last.rel_distance, under_way, max_rel, min_rel, min_at);
    fmt::print("{:.1f} s wall; outputs in {}\n", wall, dir.string());
    if (vm.count("no-plot")) return kExitOk;
    std::fflush(stdout);
    const std::string cmd = fmt::format("/usr/bin/python3 \"{}\" \"{}\"", LEARN_REGRESSION_PLOT_SCRIPT, dir.string());
    if (std::system(cmd.c_str()) != 0) {
        fmt::print(stderr, "learn_regression: the plot failed (is python3-matplotlib installed?); the CSV is complete\n");
        return kExitFailure;
    }
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        fmt::print(stderr, "learn_regression: {}\n(learn_regression --help for the options)\n", e.what());
        return kExitUsage;
    } catch (const io::SpecError& e) {
        fmt::print(stderr, "{}\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "learn_regression: {}\n", e.what());
        return kExitFailure;
    }
}

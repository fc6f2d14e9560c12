// learn_regression: does spiking plasticity (Eq. 1) follow the gradient trajectory?
// The experiment (a supervised layer learning a regression task of P = 4
// patterns, and a rate model taking the expected step per cycle in lockstep)
// is run_learn_regression in experiments/learn_regression.hpp; this program
// reads the command line and writes its outputs.
//
// Usage: learn_regression SPEC --out DIR [--epochs N] [--seed S] [--eta-ms E]
//                         [--task-seed K] [--no-plot] [-q | --progress]
// Writes DIR/learning.csv, DIR/learning.json (atomically, io::OutputSet) and,
// unless --no-plot, DIR/learning.png via plot_learning.py.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/outputs.hpp"
#include "io/paths.hpp"
#include "io/progress.hpp"
#include "io/spec_loader.hpp"
#include "experiments/learn_regression.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace spikeem;

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::size_t kPatterns = kRegressionPatterns;

// Parses the command line into vm; prints the help and returns false for --help.
bool parse_command_line(int argc, char** argv, po::variables_map& vm) {
    po::options_description opts("learn_regression SPEC --out DIR [options]");
    opts.add_options()("help,h", "show this help")("out,o", po::value<std::string>(), "output folder (created if missing)")(
        "epochs", po::value<long long>(),
        "epochs (one epoch = one cycle per pattern); default: round(run.duration_ms / (P cycle_ms))")(
        "seed", po::value<std::uint64_t>(), "simulation seed: spikes and initial weights (default: the spec's run.seed)")(
        "eta-ms", po::value<double>(), "replace the rule's eta_ms (for tuning)")(
        "task-seed", po::value<std::uint64_t>()->default_value(LearnRegressionOptions{}.task_seed),
        "seed of the patterns and of W*")("no-plot", "write the CSV and JSON only");
    io::add_progress_options(opts);
    po::options_description all = opts;
    all.add_options()("spec", po::value<std::string>(), "spec file");
    po::positional_options_description pos;
    pos.add("spec", 1);
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
        return false;
    }
    return true;
}

// The run the command line asks for: the spec with --seed and --eta-ms
// applied, checked for this driver, and the pieces the outputs name.
struct Setup {
    std::string spec_path;
    std::string spec_hash;
    NetworkSpec spec;
    SupervisedObjectiveSpec obj;
    VoltageSlopeParams rule;  // of the learned projection, --eta-ms applied
    long long epochs = 0;
    std::uint64_t task_seed = 0;
};

Setup setup(const po::variables_map& vm) {
    if (!vm.count("spec")) throw UsageError("missing SPEC (a spec file with a supervised objective)");
    if (!vm.count("out")) throw UsageError("missing --out DIR");
    Setup s;
    s.spec_path = vm["spec"].as<std::string>();
    io::SpecOverrides ov;
    if (vm.count("seed")) ov.seed = vm["seed"].as<std::uint64_t>();
    io::LoadedSpec loaded = io::load_spec_file(s.spec_path, ov);
    s.spec_hash = loaded.hash;
    s.spec = loaded.spec;

    // ---- the pieces the objective names (validated by the loader)
    if (!s.spec.objective)
        throw UsageError(s.spec_path + ": no objective: learn_regression needs objective { supervised { ... } }");
    s.obj = std::get<SupervisedObjectiveSpec>(s.spec.objective->kind);
    if (s.obj.gaussian)
        throw UsageError(s.spec_path + ": the objective is a gaussian_layer: learn_regression needs supervised");
    const RegressionLayer layer = regression_layer(s.spec);
    auto& rule = std::get<VoltageSlopeParams>(s.spec.projections[layer.projection].plasticity->rule);
    if (vm.count("eta-ms")) {
        const double e = vm["eta-ms"].as<double>();
        if (!(std::isfinite(e) && e > 0)) throw UsageError(fmt::format("--eta-ms = {}: expected > 0", e));
        rule.eta_ms = e;
    }
    s.rule = rule;
    const double cycle_ms = s.obj.free_ms + s.obj.nudge_ms;
    const double settle_ms = 2.0 * rule.window_ms;
    if (!(s.obj.free_ms > 2.0 * settle_ms))
        throw UsageError(fmt::format("{}: free_ms = {} must exceed 4 x the rule's window ({} ms)", s.spec_path,
                                     s.obj.free_ms, 2.0 * settle_ms));

    s.epochs = std::llround(s.spec.run.duration_ms / (static_cast<double>(kPatterns) * cycle_ms));
    if (vm.count("epochs")) s.epochs = vm["epochs"].as<long long>();
    if (s.epochs < 1 || s.epochs > 10000000)
        throw UsageError(fmt::format("--epochs = {}: expected 1 to 1e7", s.epochs));
    s.task_seed = vm["task-seed"].as<std::uint64_t>();
    return s;
}

std::string num(double x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string("nan"); }

std::string list(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + num(v[k]);
    return s + "]";
}

// DIR/learning.csv and DIR/learning.json, committed together.
void write_outputs(const fs::path& dir, const Setup& s, const LearnRegressionResult& r) {
    fs::create_directories(dir);
    io::OutputSet files(dir);
    auto& csv = files.add("learning.csv");
    csv << "epoch,t_ms,loss_spiking,loss_rate,rel_distance,rel_distance_span,rel_distance_null\n";
    for (const auto& row : r.rows)
        csv << fmt::format("{},{},{},{},{},{},{}\n", row.epoch, row.t_ms, num(row.loss_spiking), num(row.loss_rate),
                           num(row.rel_distance), num(row.rel_span), num(row.rel_null));
    const LearningRow& first = r.rows.front();
    const LearningRow& last = r.rows.back();
    std::string rates_json = "[", y_json = "[";
    for (std::size_t p = 0; p < kPatterns; ++p) {
        rates_json += (p ? ",\n    " : "\n    ") + list(r.task.rates_hz[p]);
        y_json += (p ? ",\n    " : "\n    ") + list(r.task.y[p]);
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
        io::version(), s.spec_path, s.spec_hash, s.spec.run.seed, s.task_seed, kPatterns, s.epochs, r.cycle_ms,
        s.rule.eta_ms, s.obj.nudge_per_ms, r.slope_factor, r.gain_per_cycle, num(first.loss_spiking),
        num(last.loss_spiking), num(first.loss_rate), num(last.loss_rate), num(last.rel_distance), num(last.rel_span),
        num(last.rel_null), r.epoch_under_way, num(r.rel_distance_max_from_under_way), num(r.rel_distance_min),
        r.rel_distance_min_epoch, rates_json, y_json, list(r.task.w_star), list(r.w0), list(r.w_spiking_end),
        list(r.w_rate_end), r.wall_s);
    files.commit();
}

// One screen: the setup, the rows at epochs 0, 1, 3, 10, 32, ..., and the summary.
void print_summary(const fs::path& dir, const Setup& s, const LearnRegressionResult& r) {
    const LearningRow& first = r.rows.front();
    const LearningRow& last = r.rows.back();
    fmt::print("{}: supervised layer {} -> {}, P = {} patterns (task seed {}), seed {}\n", s.spec_path, r.n_in,
               r.n_out, kPatterns, s.task_seed, s.spec.run.seed);
    fmt::print("eta = {} ms, lambda = {}/ms, T = {} ms, cycle = {} + {} ms; E[dW] per cycle = {:.4g} x dJ_p/dW (F = {:.4f})\n",
               s.rule.eta_ms, s.obj.nudge_per_ms, s.rule.window_ms, s.obj.free_ms, s.obj.nudge_ms, r.gain_per_cycle,
               r.slope_factor);
    fmt::print("{:>8} {:>10} {:>14} {:>14} {:>10} {:>10} {:>10}\n", "epoch", "t (s)", "loss spiking", "loss rate",
               "rel.dist", "(span)", "(null)");
    std::vector<std::size_t> show{0};
    for (double e = 1; e < static_cast<double>(s.epochs); e *= std::sqrt(10.0))
        show.push_back(static_cast<std::size_t>(std::llround(e)));
    show.push_back(static_cast<std::size_t>(s.epochs));
    show.erase(std::unique(show.begin(), show.end()), show.end());
    for (std::size_t e : show) {
        const LearningRow& row = r.rows[e];
        fmt::print("{:>8} {:>10.1f} {:>14.5g} {:>14.5g} {:>10.4f} {:>10.4f} {:>10.4f}\n", row.epoch, row.t_ms / 1000.0,
                   row.loss_spiking, row.loss_rate, row.rel_distance, row.rel_span, row.rel_null);
    }
    fmt::print("loss (mV^2): spiking {:.4g} -> {:.4g} ({:.1f}x), rate {:.4g} -> {:.4g} ({:.1f}x)\n", first.loss_spiking,
               last.loss_spiking, first.loss_spiking / last.loss_spiking, first.loss_rate, last.loss_rate,
               first.loss_rate / last.loss_rate);
    fmt::print("relative distance ||W_spiking - W_rate|| / ||W_rate - W_0||: {:.4f} at the end; from epoch {} (rate loss\n"
               "down 10%) on at most {:.4f}, at least {:.4f} (epoch {}); span/null split in the table: null = directions\n"
               "orthogonal to every pattern, which no gradient step moves and the loss does not see\n",
               last.rel_distance, r.epoch_under_way, r.rel_distance_max_from_under_way, r.rel_distance_min,
               r.rel_distance_min_epoch);
    fmt::print("{:.1f} s wall; outputs in {}\n", r.wall_s, dir.string());
}

int run(int argc, char** argv) {
    po::variables_map vm;
    if (!parse_command_line(argc, argv, vm)) return kExitOk;
    const Setup s = setup(vm);
    LearnRegressionOptions options;
    options.epochs = static_cast<std::uint64_t>(s.epochs);
    options.task_seed = s.task_seed;
    io::ProgressReporter progress("learn_regression", static_cast<double>(s.epochs * kPatterns),
                                  io::ProgressUnit::count("cycles"), io::progress_mode(vm));
    options.progress = progress.callback();
    const LearnRegressionResult r = run_learn_regression(s.spec, options);
    progress.finish();

    const fs::path dir = vm["out"].as<std::string>();
    write_outputs(dir, s, r);
    print_summary(dir, s, r);
    if (vm.count("no-plot")) return kExitOk;
    return io::make_plot("learn_regression", "examples/gradient_alignment/plot_learning.py", dir) ? kExitOk
                                                                                                   : kExitFailure;
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

// `spikeem gradcheck`: the weight changes of a spiking run with Eq. 1 against
// the rate-based gradient of the objective declared in the spec.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "experiments/gradcheck.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// Seeds 1..seeds; checkpoints from one cycle up by factors of sqrt(10), ending at `longest_ms`.
GradcheckOptions gradcheck_options(int seeds, double cycle_ms, double longest_ms) {
    GradcheckOptions o;
    o.seeds.clear();
    for (int s = 1; s <= seeds; ++s) o.seeds.push_back(static_cast<std::uint64_t>(s));
    o.checkpoints_ms.clear();
    for (double t = cycle_ms; t < longest_ms * (1 + 1e-9); t *= std::sqrt(10.0)) o.checkpoints_ms.push_back(t);
    if (o.checkpoints_ms.back() < longest_ms) o.checkpoints_ms.push_back(longest_ms);
    return o;
}

void write_gradcheck_outputs(const fs::path& out, const std::string& spec_path, const LoadedSpec& spec,
                             const GradcheckOptions& o, const GradcheckResult& r, double wall) {
    fs::create_directories(out);
    OutputSet files(out);
    auto& csv = files.add("alignment.csv");
    csv << "t_ms,seed,cosine,pearson,slope,rel_error\n";
    for (const auto& p : r.points)
        csv << fmt::format("{},{},{},{},{},{}\n", p.t_ms, p.seed, p.cosine, p.pearson, p.slope, p.rel_error);
    // Side by side per synapse at the longest duration: the gradient, the expectation the
    // model predicts from it, and what the spiking run did (the objective's weight layout).
    auto& dw = files.add("dw.csv");
    dw << "seed,index,dJ_dW,expected_dW,dW\n";
    for (std::size_t k = 0; k < o.seeds.size(); ++k)
        for (std::size_t q = 0; q < r.final_dw[k].size(); ++q)
            dw << fmt::format("{},{},{},{},{}\n", o.seeds[k], q, r.gradients[k][q], r.final_expected[k][q],
                              r.final_dw[k][q]);
    files.add("gradcheck.json") << fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"spec\": \"{}\",\n  \"spec_hash\": \"{}\",\n  \"objective\": "
        "\"{}\",\n  \"J_initial_seed1\": {},\n  \"gain_per_cycle\": {},\n  \"expected_cosine\": {},\n"
        "  \"pinned_units\": {},\n  \"cycle_ms\": {},\n  \"seeds\": {},\n  \"wall_time_s\": {}\n}}\n",
        version(), spec_path, spec.hash, spec.spec.objective->name(), r.J[0], r.gain_per_cycle, r.expected_cosine,
        r.pinned, r.cycle_ms, o.seeds.size(), wall);
    files.commit();
}

// One screen: mean and standard error over seeds per checkpoint.
void print_gradcheck_summary(const std::string& spec_path, const ObjectiveSpec& obj, const GradcheckResult& r) {
    std::map<double, std::vector<const AlignmentPoint*>> by_t;
    for (const auto& p : r.points) by_t[p.t_ms].push_back(&p);
    fmt::print("{}: {} objective, J = {:.4g} at the initial weights (seed 1); E[dW] per cycle = {:.4g} x dJ/dW\n",
               spec_path, obj.name(), r.J[0], r.gain_per_cycle);
    if (std::holds_alternative<EnergyObjectiveSpec>(obj.kind))
        fmt::print("mean-field E[dW] per cycle vs dJ/dW: cosine {:.4f} (the ceiling); free fixed point: {} unit(s) "
                   "pinned at 0 or 1{}\n",
                   r.expected_cosine, r.pinned, r.pinned ? " (the mean field is not exact there)" : "");
    fmt::print("{:>12} {:>18} {:>18} {:>18} {:>18}\n", "t (s)", "cosine", "pearson", "slope (1 = unbiased)",
               "rel. error");
    auto stat = [](const std::vector<const AlignmentPoint*>& v, double AlignmentPoint::*field) {
        double m = 0.0, s2 = 0.0;
        for (const auto* p : v) m += p->*field / v.size();
        for (const auto* p : v) s2 += (p->*field - m) * (p->*field - m);
        const double se = v.size() > 1 ? std::sqrt(s2 / (v.size() - 1) / v.size()) : 0.0;
        return fmt::format("{:.4f} +- {:.4f}", m, se);
    };
    for (const auto& [t, v] : by_t)
        fmt::print("{:>12.1f} {:>18} {:>18} {:>18} {:>18}\n", t / 1000.0, stat(v, &AlignmentPoint::cosine),
                   stat(v, &AlignmentPoint::pearson), stat(v, &AlignmentPoint::slope),
                   stat(v, &AlignmentPoint::rel_error));
}

}  // namespace

int cmd_gradcheck(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem gradcheck SPEC --out DIR [options]");
    po::options_description& opts = cmd.options();
    add_help_option(opts);
    add_out_option(opts);
    opts.add_options()("seeds", po::value<int>()->default_value(5), "independent runs (seeds 1..N)");
    add_duration_option(opts, "longest simulated time (ms); default: the spec's run.duration_ms");
    add_threads_option(opts, 0, "worker threads (0: all); results do not depend on it");
    opts.add_options()("no-plot", "write the CSV only");
    cmd.spec_argument();
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "The spec must declare an objective (see io/spikeem.proto, Objective).  Runs the network for\n"
            "each seed, alternating free and nudged phases, and at log-spaced times compares the\n"
            "accumulated dW with dJ/dW: DIR/alignment.csv (t_ms,seed,cosine,pearson,slope,rel_error;\n"
            "slope 1 = unbiased, rel_error = ||dW - E[dW]|| / ||E[dW]||), DIR/dw.csv (per seed and\n"
            "weight at the longest duration: seed,index,dJ_dW,expected_dW,dW, index in the objective's\n"
            "weight layout) and DIR/alignment.png.\n");
    const std::string path = spec_path(vm);
    LoadedSpec spec = load_spec_file(path);
    if (!spec.spec.objective)
        throw SpecError(fmt::format("{}: no objective: gradcheck needs one (objective {{ supervised {{ ... }} }})", path));
    const int seeds = vm["seeds"].as<int>();
    if (seeds < 1 || seeds > 1000) throw UsageError(fmt::format("--seeds = {}: expected 1 to 1000", seeds));
    const double longest = vm.count("duration-ms") ? vm["duration-ms"].as<double>() : spec.spec.run.duration_ms;
    const ObjectiveSpec& obj = *spec.spec.objective;
    const double cycle = obj.free_ms() + obj.nudge_ms();
    if (!(longest >= cycle && longest <= 1e8))
        throw UsageError(fmt::format("--duration-ms = {}: expected at least one cycle ({} ms) and at most 1e8", longest,
                                     cycle));
    const GradcheckOptions o = gradcheck_options(seeds, cycle, longest);
    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());

    auto t0 = std::chrono::steady_clock::now();
    GradcheckResult r = run_gradcheck(spec.spec, o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const fs::path out = vm["out"].as<std::string>();
    write_gradcheck_outputs(out, path, spec, o, r, wall);
    print_gradcheck_summary(path, obj, r);
    fmt::print("{} seeds, {:.1f} s wall; outputs in {}\n", seeds, wall, out.string());
    return vm.count("no-plot") ? kExitOk : run_plot_script("gradient_alignment/plot_alignment.py", out);
}

}  // namespace spikeem::io

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

#include "io/cli_grad.hpp"
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

std::string mean_se_json(const MeanSe& m) { return fmt::format("{{\"mean\": {}, \"se\": {}}}", m.mean, m.se); }

// Per group at the longest duration: the figures of alignment_summary.csv.
std::string groups_json(const GradcheckResult& r, const std::vector<AlignmentSummary>& summary) {
    std::string out = "[";
    for (const auto& a : summary) {
        if (a.t_ms != summary.back().t_ms) continue;
        const WeightGroup& g = r.groups[a.group];
        out += fmt::format(
            "{}\n    {{\"layer\": \"{}\", \"weights\": {}, \"expected_cosine\": {}, \"t_ms\": {}, \"cosine\": {}, "
            "\"null_cosine\": {}, \"shuffled_cosine\": {}, \"gap\": {}, \"cosine_beyond_null\": {}, \"slope\": {}, "
            "\"rel_error\": {}, \"aligned\": {}}}",
            out.size() > 1 ? "," : "", g.name, g.end - g.begin, g.expected_cosine, a.t_ms, mean_se_json(a.cosine),
            mean_se_json(a.null_cosine), mean_se_json(a.shuffled_cosine), mean_se_json(a.gap),
            mean_se_json(a.cosine_beyond_null), mean_se_json(a.slope), mean_se_json(a.rel_error),
            a.aligned ? "true" : "false");
    }
    return out + "\n  ]";
}

void write_alignment_tables(OutputSet& files, const GradcheckResult& r, const std::vector<AlignmentSummary>& summary) {
    auto& csv = files.add("alignment.csv");
    csv << "t_ms,seed,layer,cosine,null_cosine,shuffled_cosine,cosine_beyond_null,pearson,slope,rel_error\n";
    for (const auto& p : r.points)
        csv << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", p.t_ms, p.seed, r.groups[p.group].name, p.cosine,
                           p.null_cosine, p.shuffled_cosine, p.cosine_beyond_null, p.pearson, p.slope, p.rel_error);
    auto& sum = files.add("alignment_summary.csv");
    sum << "t_ms,layer,seeds,cosine_mean,cosine_se,null_cosine_mean,null_cosine_se,shuffled_cosine_mean,"
           "shuffled_cosine_se,gap_mean,gap_se,cosine_beyond_null_mean,cosine_beyond_null_se,slope_mean,slope_se,"
           "rel_error_mean,rel_error_se,expected_cosine,aligned\n";
    for (const auto& a : summary)
        sum << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", a.t_ms, r.groups[a.group].name,
                           a.seeds, a.cosine.mean, a.cosine.se, a.null_cosine.mean, a.null_cosine.se,
                           a.shuffled_cosine.mean, a.shuffled_cosine.se, a.gap.mean, a.gap.se,
                           a.cosine_beyond_null.mean, a.cosine_beyond_null.se, a.slope.mean, a.slope.se,
                           a.rel_error.mean, a.rel_error.se, r.groups[a.group].expected_cosine, a.aligned ? 1 : 0);
}

void write_gradcheck_outputs(const fs::path& out, const std::string& spec_path, const LoadedSpec& spec,
                             const GradcheckRun& run) {
    const GradcheckResult& r = run.result;
    const GradcheckOptions& o = run.options;
    fs::create_directories(out);
    OutputSet files(out);
    write_alignment_tables(files, r, run.summary);
    // Side by side per synapse at the longest duration: the gradient, the expectation the
    // model predicts from it, the null guess, and what the spiking run did (the objective's weight layout).
    auto& dw = files.add("dw.csv");
    dw << "seed,index,layer,dJ_dW,expected_dW,null_guess,dW\n";
    for (std::size_t k = 0; k < o.seeds.size(); ++k)
        for (std::size_t q = 0; q < r.final_dw[k].size(); ++q)
            dw << fmt::format("{},{},{},{},{},{},{}\n", o.seeds[k], q, weight_layer(r, q), r.gradients[k][q],
                              r.final_expected[k][q], r.null_guess[k][q], r.final_dw[k][q]);
    files.add("gradcheck.json") << gradcheck_json(spec_path, spec, run);
    files.commit();
}

// One screen per group: mean and standard error over seeds per checkpoint.
void print_gradcheck_summary(const std::string& spec_path, const ObjectiveSpec& obj, const GradcheckResult& r,
                             const std::vector<AlignmentSummary>& summary) {
    fmt::print("{}: {} objective, J = {:.4g} at the initial weights (seed 1); E[dW] per cycle = {:.4g} x dJ/dW\n",
               spec_path, obj.name(), r.J[0], r.gain_per_cycle);
    if (std::holds_alternative<EnergyObjectiveSpec>(obj.kind))
        fmt::print("mean-field E[dW] per cycle vs dJ/dW: cosine {:.4f} (the ceiling); free fixed point: {} unit(s) "
                   "pinned at 0 or 1 (most over seeds){}\n",
                   r.expected_cosine, r.pinned, r.pinned ? " (the mean field is not exact there)" : "");
    fmt::print("null: error-free guess (pre rate x target onto the output, pre rate x post rate onto a hidden layer);\n"
               "shuf: dW with seeded random signs; gap = cosine - max(null, shuf); beyond: cosine orthogonal to the\n"
               "null guess; aligned (*) when gap and beyond both exceed 3 SE over seeds\n");
    auto ms = [](const MeanSe& m) { return fmt::format("{:.4f} +- {:.4f}", m.mean, m.se); };
    for (std::size_t k = 0; k < r.groups.size(); ++k) {
        const WeightGroup& g = r.groups[k];
        fmt::print("-- {} ({} weights; mean-field E[dW] vs dJ/dW cosine {:.4f})\n", g.name, g.end - g.begin,
                   g.expected_cosine);
        fmt::print("{:>8} {:>18} {:>7} {:>7} {:>18} {:>18} {:>18} {:>18}\n", "t (s)", "cosine", "null", "shuf", "gap",
                   "beyond null", "slope (1=unbiased)", "rel. error");
        for (const auto& a : summary)
            if (a.group == k)
                fmt::print("{:>8.1f} {:>18} {:>7.4f} {:>7.4f} {:>18} {:>18} {:>18} {:>18}{}\n", a.t_ms / 1000.0,
                           ms(a.cosine), a.null_cosine.mean, a.shuffled_cosine.mean, ms(a.gap),
                           ms(a.cosine_beyond_null), ms(a.slope), ms(a.rel_error), a.aligned ? " *" : "");
    }
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
    add_progress_options(opts);
    opts.add_options()("no-plot", "write the CSV only");
    cmd.spec_argument("the spec whose objective the learning is checked against");
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "The spec must declare an objective (see io/spikeem.proto, Objective).  Runs the network for\n"
            "each seed, alternating free and nudged phases, and at log-spaced times compares the\n"
            "accumulated dW with dJ/dW, per layer: DIR/alignment.csv (t_ms,seed,layer,cosine,null_cosine,\n"
            "shuffled_cosine,cosine_beyond_null,pearson,slope,rel_error; slope 1 = unbiased, rel_error =\n"
            "||dW - E[dW]|| / ||E[dW]||; null_cosine: an error-free guess, shuffled_cosine: dW with\n"
            "seeded random signs), DIR/alignment_summary.csv (mean and SE over seeds, the gap\n"
            "cosine - max(null, shuffled) and the verdict), DIR/dw.csv (per seed and weight at the\n"
            "longest duration: seed,index,layer,dJ_dW,expected_dW,null_guess,dW, index in the objective's\n"
            "weight layout), DIR/gradcheck.json and DIR/alignment.png.  See\n"
            "examples/gradient_alignment/README.md.\n");
    const std::string path = spec_path(vm);
    const LoadedSpec spec = load_spec_file(path);
    GradcheckCommandOptions c;
    c.seeds = vm["seeds"].as<int>();
    if (vm.count("duration-ms")) c.duration_ms = vm["duration-ms"].as<double>();
    c.threads = vm["threads"].as<int>();
    c.progress = progress_mode(vm);
    const GradcheckRun run = run_gradcheck_command(spec, path, c);
    const fs::path out = vm["out"].as<std::string>();
    write_gradcheck_outputs(out, path, spec, run);
    print_gradcheck_summary(path, *spec.spec.objective, run.result, run.summary);
    fmt::print("{} seeds, {:.1f} s wall; outputs in {}\n", c.seeds, run.wall_s, out.string());
    return vm.count("no-plot") ? kExitOk : run_plot_script("gradient_alignment/plot_alignment.py", out);
}

std::string weight_layer(const GradcheckResult& r, std::size_t index) {
    std::string layer;
    for (const auto& g : r.groups)
        if (g.name != "all" && index >= g.begin && index < g.end) layer = g.name;
    return layer;
}

std::string gradcheck_json(const std::string& origin, const LoadedSpec& spec, const GradcheckRun& run) {
    const GradcheckResult& r = run.result;
    return fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"spec\": \"{}\",\n  \"spec_hash\": \"{}\",\n  \"objective\": "
        "\"{}\",\n  \"J_initial_seed1\": {},\n  \"gain_per_cycle\": {},\n  \"expected_cosine\": {},\n"
        "  \"pinned_units\": {},\n  \"cycle_ms\": {},\n  \"seeds\": {},\n  \"wall_time_s\": {},\n"
        "  \"alignment_criterion\": \"gap = cosine - max(null_cosine, shuffled_cosine) and cosine_beyond_null both "
        "> 3 SE over seeds\",\n  \"layers\": {}\n}}\n",
        version(), origin, spec.hash, spec.spec.objective->name(), r.J[0], r.gain_per_cycle, r.expected_cosine,
        r.pinned, r.cycle_ms, run.options.seeds.size(), run.wall_s, groups_json(r, run.summary));
}

GradcheckRun run_gradcheck_command(const LoadedSpec& spec, const std::string& origin,
                                   const GradcheckCommandOptions& c) {
    if (!spec.spec.objective)
        throw SpecError(fmt::format("{}: no objective: gradcheck needs one (objective {{ supervised {{ ... }} }})", origin));
    if (c.seeds < 1 || c.seeds > 1000) throw UsageError(fmt::format("--seeds = {}: expected 1 to 1000", c.seeds));
    const double longest = c.duration_ms.value_or(spec.spec.run.duration_ms);
    const ObjectiveSpec& obj = *spec.spec.objective;
    const double cycle = obj.free_ms() + obj.nudge_ms();
    if (!(longest >= cycle && longest <= 1e8))
        throw UsageError(fmt::format("--duration-ms = {}: expected at least one cycle ({} ms) and at most 1e8", longest,
                                     cycle));
    GradcheckRun run;
    run.options = gradcheck_options(c.seeds, cycle, longest);
    const tbb::global_control limit = thread_limit(c.threads);
    auto t0 = std::chrono::steady_clock::now();
    // Every seed's free and nudged cycles, counted over all seeds (the total comes with the first call).
    ProgressReporter progress("gradcheck", 0.0, ProgressUnit::count("cycles"), c.progress);
    run.options.progress = progress.callback();
    run.result = run_gradcheck(spec.spec, run.options);
    run.options.progress = nullptr;
    progress.finish();
    run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.summary = summarize(run.result);
    return run;
}

}  // namespace spikeem::io

// `spikeem em-spiking`: a trained variational-EM model's E-step run as
// stochastic spiking neurons in the event-driven simulator, against the
// rate-based INFERENCE; optionally its M-step as Eq. 1 on the synapses.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "experiments/vem/spiking.hpp"
#include "io/cli_common.hpp"
#include "io/cli_em.hpp"
#include "io/outputs.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

struct SpikingOptions {
    fs::path run, out;
    std::string data;
    Eigen::Index digits = 3;
    std::vector<double> steps_ms;
    bool m_step = false;
    double m_step_ms = 20;
    vem::SpikingSettings spiking;
    ProgressMode progress = ProgressMode::Auto;
};

// Progress over the simulated time of every run (a digit at a time): `before_ms`
// of earlier runs, then the digits of this one, `digit_ms` each.
std::function<void(Eigen::Index, Eigen::Index)> spiking_progress(ProgressReporter& progress, ProgressMode mode,
                                                                 double before_ms, double digit_ms) {
    if (mode == ProgressMode::Never) return {};
    return [&progress, before_ms, digit_ms](Eigen::Index done, Eigen::Index) {
        progress.update(before_ms + static_cast<double>(done) * digit_ms);
    };
}

// The first `n` digits of the test split.
vem::Matrix first_test_digits(const vem::DigitSet& set, Eigen::Index n) {
    return set.test.x.leftCols(std::min(n, set.test.x.cols()));
}

void write_inference_rows(std::ostream& csv, double step_ms, const vem::InferenceError& e) {
    for (std::size_t k = 0; k < e.t_ms.size(); ++k) {
        csv << fmt::format("{},{},{},h1,{},{},{}\n", step_ms, k, e.t_ms[k], e.h1[k], e.h1_ode[k], e.h1_exp[k]);
        csv << fmt::format("{},{},{},h2,{},{},{}\n", step_ms, k, e.t_ms[k], e.h2[k], e.h2_ode[k], e.h2_exp[k]);
    }
}

std::string summary_row(double step_ms, const vem::InferenceError& e) {
    return fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", step_ms, e.h1.back(), e.h2.back(), e.h1_of_change,
                       e.h2_of_change, e.ode_floor_h1, e.ode_floor_h2, e.simulated_ms, e.wall_s,
                       e.simulated_ms / e.wall_s, e.synaptic_events);
}

void write_m_step(OutputSet& files, const vem::MStepResult& r, double step_ms) {
    auto& csv = files.add("m_step.csv");
    csv << "step_ms,map,cosine,cosine_trajectory,cosine_spiking_h,null_cosine,shuffled_cosine,cosine_beyond_null\n";
    for (const vem::MapAlignment& a : r.maps)
        csv << fmt::format("{},{},{},{},{},{},{},{}\n", step_ms, a.map, a.cosine, a.cosine_trajectory,
                           a.cosine_spiking_h, a.null_cosine, a.shuffled_cosine, a.cosine_beyond_null);
}

SpikingOptions spiking_options(const po::variables_map& vm) {
    SpikingOptions o;
    o.run = vm["run"].as<std::string>();
    o.out = vm["out"].as<std::string>();
    o.data = vm["data"].as<std::string>();
    const int digits = vm["digits"].as<int>();
    if (digits < 1 || digits > 1000) throw UsageError(fmt::format("--digits {}: expected 1 to 1000", digits));
    o.digits = digits;
    o.steps_ms = number_list("--step-ms", vm["step-ms"].as<std::string>());
    for (double s : o.steps_ms)
        if (!(s >= 1.0)) throw UsageError(fmt::format("--step-ms {}: every step must be >= 1 (ms)", s));
    o.m_step = vm.count("m-step") > 0;
    o.m_step_ms = vm["m-step-ms"].as<double>();
    if (!(o.m_step_ms >= 1.0)) throw UsageError(fmt::format("--m-step-ms {}: expected >= 1 (ms)", o.m_step_ms));
    const std::vector<double> h2 = number_list("--h2-range", vm["h2-range"].as<std::string>());
    if (h2.size() != 2 || !(h2[0] < h2[1]))
        throw UsageError(fmt::format("--h2-range {}: expected LOW,HIGH with LOW < HIGH", vm["h2-range"].as<std::string>()));
    o.spiking.h2_min = h2[0];
    o.spiking.h2_max = h2[1];
    o.spiking.spiking_f1x = vm.count("spiking-f1x") > 0;
    o.spiking.seed = vm["seed"].as<std::uint64_t>();
    o.progress = progress_mode(vm);
    o.spiking.threads = resolve_threads(vm["threads"].as<int>());
    return o;
}

std::string spiking_json(const SpikingOptions& o, Eigen::Index digits) {
    const vem::SpikingSettings& s = o.spiking;
    return fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"model\": \"{}\",\n  \"data\": \"{}\",\n  \"split\": \"test\",\n"
        "  \"digits\": {},\n  \"e_step\": \"spiking\",\n  \"steps_ms\": [{}],\n  \"rate_max_hz\": {},\n"
        "  \"h2_range\": [{}, {}],\n  \"spiking_f1x\": {},\n  \"inference\": {{\"steps\": {}, \"delta\": {}, "
        "\"alpha\": {}}},\n  \"m_step\": {},\n  \"m_step_ms\": {},\n  \"seed\": {},\n"
        "  \"spiking\": \"h1 and h2 are stochastic spiking neurons; f2(h1), g2(h2), f2(g2(h2)), g1(h1) and "
        "f1(g1(h1)) arrive as synaptic input from spiking populations; f1(x) is {}\",\n"
        "  \"not_spiking\": \"the rate-based reference; the M-step's teaching signal (the nudge is computed from "
        "the membranes by the driver)\"\n}}\n",
        version(), o.run.string(), o.data, digits, fmt::join(o.steps_ms, ", "), s.rate_max_hz, s.h2_min, s.h2_max,
        s.spiking_f1x ? "true" : "false", s.inference.steps, s.inference.delta, s.inference.alpha,
        o.m_step ? "true" : "false", o.m_step_ms, s.seed,
        s.spiking_f1x ? "synaptic input from a map population of Poisson x" : "a constant drive of h1");
}

}  // namespace

int cmd_em_spiking(const std::vector<std::string>& args) {
    CommandLine cli("spikeem em-spiking RUN --data DIR --out DIR [options]");
    auto& opts = cli.options();
    add_help_option(opts);
    opts.add_options()("data", po::value<std::string>()->required(), "the digit set (as for em-train)");
    add_out_option(opts, "output folder: spiking_inference.csv, spiking_summary.csv, m_step.csv, spiking.json");
    opts.add_options()("digits", po::value<int>()->default_value(3), "the first N test digits")(
        "step-ms", po::value<std::string>()->default_value("5,20,80"),
        "simulated ms per INFERENCE iteration, one run per value")(
        "m-step", "also run the M-step (Eq. 1 on the maps' synapses) at --m-step-ms and compare it per map")(
        "m-step-ms", po::value<double>()->default_value(20.0), "simulated ms per iteration of the M-step run")(
        "h2-range", po::value<std::string>()->default_value("-0.5,1.5"), "h2 values at rate 0 and at the top rate")(
        "spiking-f1x", "f1(x) too as synaptic input (x a Poisson source), not a constant drive")(
        "seed", po::value<std::uint64_t>()->default_value(1), "spike draws");
    add_threads_option(opts, 1, "simulation threads (results are the same for any count)");
    add_progress_options(opts);
    cli.positional("run", po::value<std::string>()->required(), "RUN", 1);
    const po::variables_map vm = cli.parse(args);
    if (vm.count("help"))
        return cli.print_help(
            "Runs INFERENCE (15 iterations, delta 0.1, alpha 0.001) with h1 and h2 as stochastic spiking\n"
            "neurons in the event-driven simulator (docs/generative.md, \"The spiking E-step and M-step\"), one\n"
            "digit at a time, and measures per layer ||h_spiking - h_rate|| / ||h_rate|| against simulated time.\n"
            "The full 784-1000-100 network simulates about 10 ms per wall-clock second: the defaults take\n"
            "about 7 minutes, --m-step about 10 more.  Progress on stderr.\n");
    const SpikingOptions o = spiking_options(vm);
    const vem::Model m = read_trained_model(o.run);
    const vem::DigitSet set = load_digit_set(o.data);
    const vem::Matrix x = first_test_digits(set, o.digits);
    fs::create_directories(o.out);
    OutputSet files(o.out);
    auto& rows = files.add("spiking_inference.csv");
    rows << "step_ms,iteration,t_ms,layer,rel_error,rel_error_continuous,rel_error_exp_readout\n";
    auto& summary = files.add("spiking_summary.csv");
    summary << "step_ms,rel_error_h1,rel_error_h2,h1_of_change,h2_of_change,euler_vs_continuous_h1,"
               "euler_vs_continuous_h2,simulated_ms,wall_s,simulated_ms_per_wall_s,synaptic_events\n";
    // A digit's run lasts (INFERENCE iterations + 1) steps: the read-outs come at the end of each step.
    const double steps_per_digit = o.spiking.inference.steps + 1, digits = static_cast<double>(x.cols());
    double total_ms = o.m_step ? o.m_step_ms * steps_per_digit * digits : 0.0, done_ms = 0.0;
    for (double step : o.steps_ms) total_ms += step * steps_per_digit * digits;
    ProgressReporter progress("em-spiking", total_ms, ProgressUnit::simulated_ms(), o.progress);
    for (double step : o.steps_ms) {
        vem::SpikingSettings s = o.spiking;
        s.step_ms = step;
        if (o.progress != ProgressMode::Never)
            fmt::print(stderr, "em-spiking: step {} ms, {} digits ({:.0f} ms simulated)\n", step, x.cols(),
                       step * steps_per_digit * digits);
        progress.set_part(fmt::format("step {} ms", step));
        progress.update(done_ms);  // --progress: at once (a digit takes seconds)
        const vem::InferenceError e = vem::spiking_inference_error(
            m, x, s, nullptr, spiking_progress(progress, o.progress, done_ms, step * steps_per_digit));
        done_ms += step * steps_per_digit * digits;
        write_inference_rows(rows, step, e);
        summary << summary_row(step, e);
        progress.suspend();
        fmt::print("em-spiking: step {} ms: relative error h1 {:.3f}, h2 {:.3f} after {} iterations; {:.1f} ms "
                   "simulated per wall s\n", step, e.h1.back(), e.h2.back(), s.inference.steps,
                   e.simulated_ms / e.wall_s);
    }
    if (o.m_step) {
        vem::SpikingSettings s = o.spiking;
        s.step_ms = o.m_step_ms;
        if (o.progress != ProgressMode::Never)
            fmt::print(stderr, "em-spiking: M-step at step {} ms, {} digits\n", o.m_step_ms, x.cols());
        progress.set_part(fmt::format("M-step at step {} ms", o.m_step_ms));
        const vem::MStepResult r = vem::spiking_m_step(
            m, x, s, vem::MStepSettings{}, spiking_progress(progress, o.progress, done_ms, o.m_step_ms * steps_per_digit));
        progress.suspend();
        write_m_step(files, r, o.m_step_ms);
        for (const vem::MapAlignment& a : r.maps)
            fmt::print("em-spiking: M-step {}: cosine {:.3f} (null guess {:.3f}, shuffled {:.3f}, beyond null {:.3f})\n",
                       a.map, a.cosine, a.null_cosine, a.shuffled_cosine, a.cosine_beyond_null);
    } else {
        files.obsolete("m_step.csv");
    }
    progress.finish();
    files.add("spiking.json") << spiking_json(o, x.cols());
    files.commit();
    return run_plot_script("generative/plot_spiking.py", o.out);
}

}  // namespace spikeem::io

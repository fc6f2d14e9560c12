// `spikeem run` (simulate a network spec) and `spikeem validate` (check one).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// One line about the run, one row per population.
void print_run_summary(const Simulation& sim, const LoadedSpec& spec, const std::string& spec_path, double wall,
                       const fs::path& out) {
    // Partitions beyond the cores TBB may use share them.
    const std::size_t used = std::min<std::size_t>(
        sim.partitions(), static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency())));
    fmt::print("{}: {} ms simulated in {:.3f} s wall ({}; {} events, {} synaptic events)\n",
               spec.spec.name.empty() ? spec_path : spec.spec.name, sim.time().format_ms(sim.now()), wall,
               sim.partitions() == 1 ? std::string("1 thread")
                                     : fmt::format("{} partitions on {} threads", sim.partitions(), used),
               sim.events_processed(), sim.synaptic_events());
    fmt::print("{:<16} {:>10} {:>12} {:>14} {:>10}\n", "population", "neurons", "spikes", "rate (Hz)", "CV ISI");
    for (std::size_t p = 0; p < sim.num_populations(); ++p) {
        PopulationSummary s = sim.summary(p);
        fmt::print("{:<16} {:>10} {:>12} {:>14.3f} {:>10}\n", s.name, s.neurons, s.spikes, s.mean_rate_hz,
                   s.has_cv ? fmt::format("{:.3f}", s.mean_cv_isi) : "-");
    }
    fmt::print("outputs in {}\n", out.string());
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem run SPEC --out DIR [options]");
    po::options_description& o = cmd.options();
    add_help_option(o);
    add_out_option(o, "output folder (created if missing)");
    add_seed_option(o, "random seed (replaces run.seed of the spec)");
    add_duration_option(o, "simulated time in ms (replaces run.duration_ms)");
    add_threads_option(o, 1,
                       "run the network on N threads (N partitions of its neurons; 0: all cores); outputs do not "
                       "depend on it");
    o.add_options()("quiet,q", "print nothing on success");
    cmd.spec_argument();
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "Writes DIR/spikes.csv (t_ms,population,neuron), DIR/voltages.csv when voltages are\n"
            "recorded (t_ms,population,neuron,v_mV), and DIR/run.json (provenance and statistics).\n"
            "--threads N splits every population into N contiguous chunks that advance in parallel\n"
            "between exchanges of spikes (epochs of the network's minimum delay); every output is\n"
            "byte-identical for any N except run.json's wall_time_s.  A network whose minimum delay\n"
            "(less the window of central-difference voltage rules) is 0 runs on one thread.\n");
    const std::string path = spec_path(vm);
    LoadedSpec spec = load_spec_file(path, spec_overrides(vm));

    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());
    const unsigned threads = resolve_threads(vm["threads"].as<int>());
    auto t0 = std::chrono::steady_clock::now();
    Simulation sim(spec.spec, threads);
    sim.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const fs::path out = vm["out"].as<std::string>();
    write_run_outputs(out, sim, spec, RunInfo{path, wall});
    if (!vm.count("quiet")) print_run_summary(sim, spec, path, wall, out);
    return kExitOk;
}

int cmd_validate(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem validate SPEC [options]");
    add_help_option(cmd.options());
    cmd.spec_argument();
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help("Checks a spec and prints a summary; exit status 2 and the problems if it is invalid.\n");
    const std::string path = spec_path(vm);
    LoadedSpec spec = load_spec_file(path);
    std::uint64_t neurons = 0;
    for (const auto& p : spec.spec.populations) neurons += p.size;
    fmt::print("{}: valid ({} populations, {} neurons, {} projections; {})\n", path, spec.spec.populations.size(),
               neurons, spec.spec.projections.size(), spec.hash);
    return kExitOk;
}

}  // namespace spikeem::io

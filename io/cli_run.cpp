// `spikeem run` (simulate a network spec) and `spikeem validate` (check one).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/cli_common.hpp"
#include "io/loader/resources.hpp"
#include "io/outputs.hpp"
#include "io/recording.hpp"
#include "io/interrupt.hpp"
#include "io/progress.hpp"
#include "io/spec_loader.hpp"
#include "io/spec_warnings.hpp"
#include "network/simulation.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// Runs sim to its duration (run_in_pieces, recording.hpp), appending each
// piece's rows to `tables` and reporting the simulated time reached.  Stops
// early, between pieces, when `interrupt` has seen a signal; returns whether
// the run reached its end.
bool run_with_progress(Simulation& sim, RecordingWriter& tables, ProgressMode mode, const InterruptWatch& interrupt) {
    ProgressReporter progress("run", sim.time().to_ms(sim.duration_ticks()), ProgressUnit::simulated_ms(), mode);
    const bool done = run_in_pieces(
        sim, [&](const RecordedRows& rows) { tables.append(rows); }, [&] { return !interrupt.requested(); },
        [&] { progress.update(sim.time().to_ms(sim.now())); });
    if (done) progress.finish();
    return done;
}

constexpr const char* kRunOutputsHelp =
    "Replaces DIR as a whole with a new folder holding only these files (do not keep other files in DIR;\n"
    "a non-empty DIR without run.json is refused).  The run writes into DIR.tmp-PID-RANDOM next to DIR,\n"
    "which takes DIR's place in one rename at the end: DIR is always wholly one run's outputs.  While it\n"
    "runs it holds the lock .DIR.lock next to DIR: a second run into DIR is refused (exit 2).  DIR's\n"
    "parent (created if missing) must be a writable folder; this is checked before the simulation, and so\n"
    "is the disk: outputs estimated larger than the free space there are refused (exit 2), naming the\n"
    "probes responsible.  The tables are written while the run goes (memory does not grow with its length).\n"
    "  spikes.csv            t_ms,population,neuron: every spike of record.spikes and record.spike_probe\n"
    "                        (always written; no rows when nothing is recorded)\n"
    "  voltages.csv          t_ms,population,neuron,v_mV: record.voltage probes\n"
    "  rates.csv             t_ms,population,neuron,readout,rate_hz: record.rate probes (readout count,\n"
    "                        exp or model)\n"
    "  weights.csv           t_ms,projection,pre,post,w: record.weights probes, then the final weight of\n"
    "                        every synapse of every plastic projection\n"
    "  population_rates.csv  t_ms,probe,population,spikes,rate_hz: record.population_rate, one row per\n"
    "                        whole bin; t_ms the bin start, probe the index in record.population_rate,\n"
    "                        rate_hz = spikes * 1000 / (neurons watched * bin_ms)\n"
    "  run.json              provenance (spec, hash, seed, resolution_ns, output_format) and statistics\n"
    "Rows are in order of time, then probe (spikes: population; spec order), then neuron (spikes:\n"
    "index; probes: their list) or synapse (storage order).  CSV times are exact decimals of ticks.\n"
    "--format npy writes spikes.npy, voltages.npy, rates.npy, weights.npy and population_rates.npy\n"
    "instead of the .csv files: NumPy format 1.0, one structured array per table whose fields are the\n"
    "CSV's columns (a = numpy.load(\"DIR/spikes.npy\"); a[\"t_ms\"]), in the machine's byte order:\n"
    "  t_ms                float64, the double nearest the exact time (what the CSV's text parses to)\n"
    "  population, projection  uint32 index into run.json's populations / projections (spec order)\n"
    "  neuron, pre, post, probe  uint32;  spikes uint64;  readout uint8 (0 count, 1 exp, 2 model)\n"
    "  v_mV, w, rate_hz    float64, the CSV's numbers exactly\n"
    "A voltage row takes 24 bytes in npy.\n"
    "--threads N splits every population into N contiguous chunks that advance in parallel\n"
    "between exchanges of spikes (epochs of the network's minimum delay); every output is\n"
    "byte-identical for any N except run.json's wall_time_s.  A network whose minimum delay\n"
    "(less the window of central-difference voltage rules) is 0 runs on one thread.\n"
    "-q also silences the spec's warnings (stderr) and the summary (stdout): nothing is printed on success.\n";

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

// OutputSet::replacing(out), its refusal a usage error (exit 2): nothing was run or written.
OutputSet open_output(const fs::path& out) {
    try {
        return OutputSet::replacing(out);
    } catch (const OutputRefused& e) {
        throw UsageError(e.what());
    }
}

// spec_warnings on stderr, "warning: FILE: ..." each: they do not change the exit status.
void print_warnings(const LoadedSpec& spec, const std::string& path) {
    for (const std::string& w : spec_warnings(spec.spec)) fmt::print(stderr, "warning: {}: {}\n", path, w);
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem run SPEC --out DIR [options]");
    po::options_description& o = cmd.options();
    add_help_option(o);
    add_out_option(o, "output folder (created if missing)");
    add_seed_option(o, "random seed (replaces run.seed of the spec)");
    add_duration_option(o, "simulated time in ms (replaces run.duration_ms)");
    add_set_option(o);
    add_threads_option(o, 1,
                       "run the network on N threads (N partitions of its neurons; 0: all cores); outputs do not "
                       "depend on it");
    o.add_options()("format", po::value<std::string>()->default_value("csv"),
                    "output tables as csv (text) or npy (NumPy arrays); see below");
    add_progress_options(o);
    cmd.spec_argument("the spec file to run");
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help")) return cmd.print_help(kRunOutputsHelp);
    const std::optional<OutputFormat> format = parse_output_format(vm["format"].as<std::string>());
    if (!format)
        throw UsageError(fmt::format("--format = \"{}\": expected csv or npy", vm["format"].as<std::string>()));
    const std::string path = spec_path(vm);
    SpecOverrides overrides = spec_overrides(vm);
    overrides.streamed_recording = true;  // the tables are written as the run goes
    LoadedSpec spec = load_spec_file(path, overrides);
    if (!vm.count("quiet")) print_warnings(spec, path);

    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());
    const unsigned threads = resolve_threads(vm["threads"].as<int>());
    // The output folder is checked and locked before the simulation: a folder
    // that cannot be written costs no simulated time.
    const fs::path out = vm["out"].as<std::string>();
    OutputSet files = open_output(out);
    const std::string parent = files.folder().parent_path().string();
    if (const double free_bytes = loader::free_disk_bytes(parent); free_bytes >= 0.0)
        loader::check_disk(spec.spec, path, *format == OutputFormat::Npy, free_bytes, parent);
    auto t0 = std::chrono::steady_clock::now();
    const InterruptWatch interrupt;
    Simulation sim(spec.spec, threads);
    RecordingWriter tables(files, sim, spec.spec, *format);
    if (!run_with_progress(sim, tables, progress_mode(vm), interrupt)) {
        fmt::print(stderr, "\nspikeem run: interrupted by {} at t = {} ms of {} ms; nothing was written to {} "
                           "(a run cannot be resumed yet: run it again)\n",
                   interrupt.name(), sim.time().to_ms(sim.now()), sim.time().to_ms(sim.duration_ticks()),
                   out.string());  // `files` removes its folder on the way out
        return interrupt.exit_code();
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    finish_run_outputs(files, tables, sim, spec, RunInfo{path, wall, *format});
    if (!vm.count("quiet")) print_run_summary(sim, spec, path, wall, out);
    return kExitOk;
}

int cmd_validate(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem validate SPEC [options]");
    add_help_option(cmd.options());
    add_set_option(cmd.options());
    cmd.spec_argument("the spec file to check");
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "Checks a spec and prints a summary; exit status 2 and the problems if it is invalid.  Warnings about\n"
            "a valid spec that is probably not what was meant (nothing recorded, a time constant below 0.1 ms,\n"
            "a Poisson rate above 10 kHz) go to stderr as \"warning: ...\" and leave the exit status 0.\n");
    const std::string path = spec_path(vm);
    SpecOverrides overrides = spec_overrides(vm);
    overrides.streamed_recording = true;  // checked as `spikeem run` will run it
    LoadedSpec spec = load_spec_file(path, overrides);
    print_warnings(spec, path);
    std::uint64_t neurons = 0;
    for (const auto& p : spec.spec.populations) neurons += p.size;
    fmt::print("{}: valid ({} populations, {} neurons, {} projections; {})\n", path, spec.spec.populations.size(),
               neurons, spec.spec.projections.size(), spec.hash);
    return kExitOk;
}

}  // namespace spikeem::io

// `spikeem run` (simulate a network spec), `spikeem resume` (continue one
// from its checkpoint) and `spikeem validate` (check a spec).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint.hpp"
#include "io/cli_common.hpp"
#include "io/loader/resources.hpp"
#include "io/recording.hpp"
#include "io/outputs.hpp"
#include "io/interrupt.hpp"
#include "io/progress.hpp"
#include "io/spec_loader.hpp"
#include "io/spec_warnings.hpp"
#include "network/simulation.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

using clock = std::chrono::steady_clock;

// A run being carried out by `run` or `resume`: how it was asked for, its
// spec, where its outputs and checkpoint go, and the wall time spent on it
// before this process (a resumed run's earlier pieces).
struct RunJob {
    RunSettings settings;
    LoadedSpec spec;
    fs::path out;
    double wall_before_s = 0.0;
    clock::time_point started = clock::now();
    double wall_s() const { return wall_before_s + std::chrono::duration<double>(clock::now() - started).count(); }
    fs::path checkpoint() const { return checkpoint_path(out); }
};

// The run going on: the simulation, the tables it writes, its checkpoints.
struct Running {
    Simulation& sim;
    RecordingWriter& tables;
    Checkpointer& checkpoints;
};

// Runs sim to its duration (run_in_pieces, recording.hpp), appending each
// piece's rows to the tables and reporting the simulated time reached.  With
// checkpoint_every_ms, a piece ends at each multiple of it and the checkpoint
// is written there.  Stops early, between pieces, when `interrupt` has seen a
// signal; returns whether the run reached its end.
bool run_with_progress(Running& r, const RunJob& job, ProgressMode mode, const InterruptWatch& interrupt) {
    Simulation& sim = r.sim;
    const Tick end = sim.duration_ticks();
    const Tick every = job.settings.checkpoint_every_ms > 0.0
                           ? std::max<Tick>(1, sim.time().round(job.settings.checkpoint_every_ms))
                           : 0;
    ProgressReporter progress("run", sim.time().to_ms(end), ProgressUnit::simulated_ms(), mode);
    const bool done = run_in_pieces(
        sim, [&](const RecordedRows& rows) { r.tables.append(rows); }, [&] { return !interrupt.requested(); },
        [&] {
            // The state at the end is written by finish_run, after the last piece.
            if (every > 0 && sim.now() % every == 0 && sim.now() < end)
                r.checkpoints.write(sim, r.tables, job.wall_s());
            progress.update(sim.time().to_ms(sim.now()));
        },
        kStreamedRowsBytes, every);
    if (done) progress.finish();
    return done;
}

constexpr const char* kCheckpointHelp =
    "Checkpoints.  A run stopped by Ctrl-C (SIGINT) or SIGTERM finishes the piece under way (at most about\n"
    "0.2 s), saves its whole state in the folder DIR.checkpoint next to DIR, leaves DIR as it was, and\n"
    "exits 130 or 143; `spikeem resume DIR` continues it.  --checkpoint-every-ms T also saves the state\n"
    "at every multiple of T ms of simulated time, and at the end (kept: `spikeem resume DIR --duration-ms\n"
    "LONGER` extends the run).  A resumed run writes the same bytes as a run never stopped (run.json's\n"
    "wall_time_s sums the pieces).  Without --checkpoint-every-ms, DIR.checkpoint is removed when a run\n"
    "into DIR completes.  The checkpoint holds a copy of the tables written so far (each checkpoint adds\n"
    "what is new): it takes about the outputs' size on disk again.\n";

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
    "--threads N splits every population into up to N contiguous chunks (partitions) that advance in\n"
    "parallel between exchanges of spikes (epochs of the network's minimum delay); every output is\n"
    "byte-identical for any N except run.json's wall_time_s, threads and partitions.  Each exchange costs\n"
    "about a microsecond or two, so spikeem estimates the events of an epoch from the spec (synapses x\n"
    "the sources' rates, 10 Hz for neurons, plus Poisson inputs, times the epoch) and uses one partition\n"
    "per 2000 of them at most, saying so on stderr when that is fewer than N; --partitions P forces P.\n"
    "A network whose minimum delay (less the window of central-difference voltage rules) is 0 runs in one\n"
    "partition.\n"
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

// The end of a run or a resumed run: run to the end (checkpointing as asked,
// saving the state on a signal), write the outputs, report.
int finish_run(Running& r, const RunJob& job, OutputSet& files, ProgressMode mode, bool quiet) {
    Simulation& sim = r.sim;
    const InterruptWatch interrupt;
    if (!run_with_progress(r, job, mode, interrupt)) {
        std::string saved;
        try {
            r.checkpoints.write(sim, r.tables, job.wall_s());
            saved = fmt::format("the state is saved in {}: continue with `spikeem resume {}`",
                                r.checkpoints.folder().string(), job.out.string());
        } catch (const std::exception& e) {
            saved = fmt::format("the state could not be saved ({})", e.what());
        }
        fmt::print(stderr, "\nspikeem run: interrupted by {} at t = {} ms of {} ms; nothing was written to {}; {}\n",
                   interrupt.name(), sim.time().to_ms(sim.now()), sim.time().to_ms(sim.duration_ticks()),
                   job.out.string(), saved);  // `files` removes its folder on the way out
        return interrupt.exit_code();
    }
    // The final state is kept for extending the run (before the last rows,
    // which a longer run would write later); without checkpoints an earlier
    // run's (interrupted, then finished here or replaced) is obsolete.
    if (job.settings.checkpoint_every_ms > 0.0) r.checkpoints.write(sim, r.tables, job.wall_s());
    r.tables.append(sim.drain_recorded(sim.duration_ticks()));
    const double wall = job.wall_s();
    finish_run_outputs(files, r.tables, sim, job.spec, RunInfo{job.settings.spec_path, wall, job.settings.format});
    if (job.settings.checkpoint_every_ms == 0.0) {
        std::error_code ec;
        fs::remove_all(r.checkpoints.folder(), ec);
    }
    if (!quiet) print_run_summary(sim, job.spec, job.settings.spec_path, wall, job.out);
    return kExitOk;
}

// Outputs estimated larger than the free space where they go are refused
// (exit 2) before anything is simulated (a resumed run: the whole outputs).
void check_disk_for(const OutputSet& files, const RunJob& job) {
    const std::string parent = files.folder().parent_path().string();
    if (const double free_bytes = loader::free_disk_bytes(parent); free_bytes >= 0.0)
        loader::check_disk(job.spec.spec, job.settings.spec_path, job.settings.format == OutputFormat::Npy,
                           free_bytes, parent);
}

// The few spec errors only the built network shows (a weight probe on a pair
// that a random connectivity did not draw) are the user's: exit 2, like any.
Simulation build(const RunJob& job, unsigned threads, Partitioning how) {
    try {
        return Simulation(job.spec.spec, threads, how);
    } catch (const std::invalid_argument& e) {
        throw UsageError(fmt::format("{}: {}", job.settings.spec_path, e.what()));
    }
}

double checkpoint_every(const po::variables_map& vm) {
    if (!vm.count("checkpoint-every-ms")) return 0.0;
    const double every = vm["checkpoint-every-ms"].as<double>();
    if (!(every > 0.0) || !std::isfinite(every))
        throw UsageError(fmt::format("--checkpoint-every-ms = {}: expected a positive number of ms", every));
    return every;
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
                       "run the network on up to N threads (N partitions of its neurons, fewer when it is too "
                       "small to gain; 0: all cores); outputs do not depend on it");
    add_partitions_option(o);
    o.add_options()("format", po::value<std::string>()->default_value("csv"),
                    "output tables as csv (text) or npy (NumPy arrays); see below");
    o.add_options()("checkpoint-every-ms", po::value<double>(),
                    "save the run's state in DIR.checkpoint every T ms of simulated time (see below)");
    add_progress_options(o);
    cmd.spec_argument("the spec file to run");
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help")) return cmd.print_help(std::string(kRunOutputsHelp) + kCheckpointHelp);
    const std::optional<OutputFormat> format = parse_output_format(vm["format"].as<std::string>());
    if (!format)
        throw UsageError(fmt::format("--format = \"{}\": expected csv or npy", vm["format"].as<std::string>()));
    const double every_ms = checkpoint_every(vm);
    const std::string path = spec_path(vm);
    SpecOverrides overrides = spec_overrides(vm);
    overrides.streamed_recording = true;  // the tables are written as the run goes
    RunJob job{RunSettings{path, fs::absolute(path).lexically_normal().string(), overrides, every_ms, *format},
               load_spec_file(path, overrides), vm["out"].as<std::string>()};
    if (!vm.count("quiet")) print_warnings(job.spec, path);

    const ThreadRequest threads = thread_request(vm);
    const tbb::global_control limit = thread_limit(threads.workers);
    // The output folder and the disk are checked, and the folder locked,
    // before the simulation: a folder that cannot be written costs no simulated time.
    OutputSet files = open_output(job.out);
    check_disk_for(files, job);
    job.started = clock::now();
    Simulation sim = build(job, threads.threads, threads.how);
    if (const std::string note = partition_note(sim, threads.how, "spikeem run"); !note.empty() && !vm.count("quiet"))
        fmt::print(stderr, "{}\n", note);
    RecordingWriter tables(files, sim, job.spec.spec, *format);
    Checkpointer checkpoints(job.checkpoint(), job.settings, job.spec);
    Running r{sim, tables, checkpoints};
    return finish_run(r, job, files, progress_mode(vm), vm.count("quiet") > 0);
}

namespace {

// The checkpoint's spec, loaded with the run's overrides: it must still be the
// spec the checkpoint was written from.  `duration_ms` (resume --duration-ms)
// then replaces the run's duration.
LoadedSpec spec_of(const Checkpoint& c, const fs::path& ckpt, std::optional<double> duration_ms) {
    SpecOverrides overrides = c.run.overrides;
    overrides.streamed_recording = true;
    LoadedSpec spec = load_spec_file(c.run.spec_file, overrides);
    if (spec.hash != c.spec_hash)
        throw UsageError(fmt::format("{}: the spec {} has changed since the checkpoint was written (hash {} then, "
                                     "{} now); resume needs the spec, and the files it reads, as they were",
                                     ckpt.string(), c.run.spec_file, c.spec_hash, spec.hash));
    if (!duration_ms) return spec;
    SpecOverrides longer = overrides;
    longer.duration_ms = *duration_ms;
    return load_spec_file(c.run.spec_file, longer);
}

}  // namespace

int cmd_resume(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem resume DIR [--duration-ms T]");
    po::options_description& o = cmd.options();
    add_help_option(o);
    add_duration_option(o, "simulated time to run to, in ms (default: the run's own; not before the checkpoint)");
    add_progress_options(o);
    cmd.positional("dir", po::value<std::string>(), "the run's output folder (--out of spikeem run)", 1);
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "Continues the run whose output folder is DIR from its checkpoint DIR.checkpoint, with the spec,\n"
            "overrides, output format and checkpoint interval it was started with, and writes its outputs into\n"
            "DIR as `spikeem run` does: the same bytes as a run never stopped.  The spec (and the files it reads)\n"
            "must be unchanged, and the checkpoint written by this version of spikeem.  The run keeps its\n"
            "partitions (its --threads).\n");
    if (!vm.count("dir")) throw UsageError("resume: missing DIR (the run's output folder); usage: spikeem resume DIR");
    const fs::path out = vm["dir"].as<std::string>();
    OutputSet files = open_output(out);  // the lock first: no run may write the checkpoint meanwhile
    const fs::path ckpt = checkpoint_path(out);
    Checkpoint c;
    try {
        c = read_checkpoint(ckpt);
    } catch (const CheckpointRefused& e) {
        throw UsageError(e.what());
    }
    std::optional<double> duration_ms;
    if (vm.count("duration-ms")) duration_ms = vm["duration-ms"].as<double>();
    RunJob job{c.run, spec_of(c, ckpt, duration_ms), out, c.wall_time_s};
    if (duration_ms) job.settings.overrides.duration_ms = duration_ms;
    const TimeBase time(job.spec.spec.run.time_digits);
    if (time.round(job.spec.spec.run.duration_ms) < c.tick)
        throw UsageError(fmt::format("--duration-ms = {}: the checkpoint is at t = {} ms; a run cannot go back",
                                     job.spec.spec.run.duration_ms, time.format_ms(c.tick)));
    const tbb::global_control limit = thread_limit(static_cast<int>(c.partitions));
    Simulation sim = build(job, c.partitions, Partitioning::Exact);
    if (sim.partitions() != c.partitions)
        throw UsageError(fmt::format("{}: written with {} partitions; the network now runs in {}", ckpt.string(),
                                     c.partitions, sim.partitions()));
    try {
        sim.load_state(c.state);
    } catch (const StateMismatch& e) {
        throw UsageError(fmt::format("{}: does not fit the network of {}: {}", ckpt.string(), c.run.spec_file,
                                     e.what()));
    }
    std::string().swap(c.state);
    check_disk_for(files, job);
    std::optional<RecordingWriter> tables;
    try {
        tables.emplace(files, sim, job.spec.spec, job.settings.format, c.sources(ckpt));
    } catch (const std::runtime_error& e) {
        throw UsageError(fmt::format("{}: its tables cannot be used: {}", ckpt.string(), e.what()));
    }
    Checkpointer checkpoints(ckpt, job.settings, job.spec, c.tables);
    Running r{sim, *tables, checkpoints};
    job.started = clock::now();
    return finish_run(r, job, files, progress_mode(vm), vm.count("quiet") > 0);
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

// `spikeem bench`: build and run benchmark networks, one row of timings and
// counts per network (one network on --threads partitions, default 1).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/progress.hpp"
#include "io/paths.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

const std::vector<std::string> kDefaultNetworks = {"cuba_delta", "cuba_exp", "cuba_stdp", "coba",
                                                   "scale_4k",   "scale_40k", "scale_400k"};

// The specs `spikeem bench NAME` knows, in spikeem's data folder (io/paths.hpp).
const fs::path kBenchmarks = "examples/benchmarks";

// The first data folder's examples/benchmarks/ and the names of its specs
// (an empty path if no data folder has one).
std::pair<fs::path, std::string> known_benchmarks() {
    fs::path dir;
    try {
        dir = find_data_file(kBenchmarks);
    } catch (const DataFileError&) {
        return {};
    }
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".pbtxt") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    return {dir, known.empty() ? "none" : known};
}

// NAME is a spec under examples/benchmarks/ of the data folder (with or
// without .pbtxt), or a path to a spec file.
std::string resolve_spec(const std::string& name) {
    const fs::path as_given(name);
    if (as_given.has_extension() && fs::exists(as_given)) return name;
    fs::path file = kBenchmarks / name;
    if (!file.has_extension()) file += ".pbtxt";
    try {
        return find_data_file(file).string();
    } catch (const DataFileError&) {
        const auto [dir, known] = known_benchmarks();
        if (dir.empty()) throw;  // no data folder at all: the message says where it was looked for
        throw UsageError(fmt::format("no benchmark \"{}\" ({} does not exist); known: {}", name,
                                     (dir / file.filename()).string(), known));
    }
}

// CPU time of this process, all threads (s): on a loaded machine wall time also
// counts waiting for a core.  (Only the simulation runs while it is measured.)
double process_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> x) {
    std::sort(x.begin(), x.end());
    const std::size_t n = x.size();
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

// Peak resident set of this process so far (Linux: ru_maxrss in KiB).
std::uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// Current resident set (/proc/self/statm), 0 if unavailable.
std::uint64_t current_rss_bytes() {
    std::ifstream f("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    if (!(f >> size >> resident)) return 0;
    return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

struct Row {
    std::string network, spec_path;
    std::uint64_t neurons = 0, synapses = 0;
    double simulated_s = 0.0;
    double build_s = 0.0, wall_s = 0.0, wall_min_s = 0.0, wall_max_s = 0.0, cpu_s = 0.0;
    int repeat = 0;
    unsigned threads = 1, partitions = 1;
    std::uint64_t spikes = 0, synaptic_events = 0, events = 0;
    std::uint64_t peak_rss = 0, build_rss_delta = 0;
    double bytes_per_synapse = 0.0, bytes_per_plastic_synapse = 0.0;
    std::vector<PopulationSummary> pops;

    double rtf() const { return simulated_s > 0 ? wall_s / simulated_s : 0.0; }
    double syn_per_s() const { return wall_s > 0 ? synaptic_events / wall_s : 0.0; }
    double ns_per_syn() const { return synaptic_events > 0 ? wall_s * 1e9 / synaptic_events : 0.0; }
};

// Synapse storage of one projection: per synapse its target and weight, per
// source neuron one row index, per (source, delay) one DelayGroup, plus the
// spike-pair plasticity state (per-synapse or per-group traces, per-neuron
// post traces, the incoming-synapse index).  Vector capacity slack, neuron
// state and the event queue are not counted.
double projection_bytes(const Simulation& sim, const Projection& pj) {
    const std::uint32_t sources = sim.population(pj.source_population()).size();
    const std::uint64_t groups = pj.group_begin(sources);
    double bytes = static_cast<double>(pj.num_synapses()) * sizeof(*pj.targets()) + static_cast<double>(pj.weight_bytes());
    bytes += static_cast<double>(sources + 1) * sizeof(std::uint32_t);
    bytes += static_cast<double>(groups + 1) * sizeof(DelayGroup);
    return bytes + static_cast<double>(pj.plasticity_bytes());
}

// Bytes per synapse over all projections, and over the plastic ones alone (0 if none).
std::pair<double, double> storage_bytes_per_synapse(const Simulation& sim) {
    double bytes = 0.0, plastic_bytes = 0.0;
    std::uint64_t synapses = 0, plastic = 0;
    for (std::size_t j = 0; j < sim.num_projections(); ++j) {
        const Projection& pj = sim.projection(j);
        const double b = projection_bytes(sim, pj);
        bytes += b;
        synapses += pj.num_synapses();
        if (pj.plastic()) {
            plastic_bytes += b;
            plastic += pj.num_synapses();
        }
    }
    return {synapses ? bytes / static_cast<double>(synapses) : 0.0,
            plastic ? plastic_bytes / static_cast<double>(plastic) : 0.0};
}

// Runs sim to its duration in 100 pieces (pieces change no result and cost
// microseconds each), reporting `runs_before` + the fraction of this run done.
void run_in_pieces(Simulation& sim, ProgressReporter& progress, double runs_before, const std::string& what) {
    constexpr Tick kPieces = 100;
    const Tick end = sim.duration_ticks();
    for (Tick k = 1; k <= kPieces; ++k) {
        sim.run_until(end / kPieces * k + (k == kPieces ? end % kPieces : 0));
        progress.update(runs_before + static_cast<double>(k) / kPieces, what);
    }
}

// `progress` counts the runs of every network; `done` before this one's.
Row bench_one(const std::string& name, const SpecOverrides& overrides, int repeat, const ThreadRequest& threads,
              ProgressReporter& progress, std::size_t done) {
    Row row;
    row.spec_path = resolve_spec(name);
    LoadedSpec spec = load_spec_file(row.spec_path, overrides);
    row.network = spec.spec.name.empty() ? name : spec.spec.name;
    row.repeat = repeat;
    std::vector<double> build, wall, cpu;
    for (int r = 0; r < repeat; ++r) {
        const std::uint64_t rss0 = current_rss_bytes();
        auto t0 = std::chrono::steady_clock::now();
        auto sim = std::make_unique<Simulation>(spec.spec, threads.threads, threads.how);
        if (r == 0) {
            if (const std::string note = partition_note(*sim, threads.how, "spikeem bench " + row.network);
                !note.empty()) {
                progress.suspend();
                fmt::print(stderr, "{}\n", note);
            }
        }
        auto t1 = std::chrono::steady_clock::now();
        const std::uint64_t rss1 = current_rss_bytes();
        const double c1 = process_cpu_s();
        run_in_pieces(*sim, progress, static_cast<double>(done + std::size_t(r)),
                      fmt::format("{} run {}/{}", row.network, r + 1, repeat));
        const double c2 = process_cpu_s();
        auto t2 = std::chrono::steady_clock::now();
        cpu.push_back(c2 - c1);
        build.push_back(std::chrono::duration<double>(t1 - t0).count());
        wall.push_back(std::chrono::duration<double>(t2 - t1).count());

        std::uint64_t spikes = 0;
        for (std::size_t p = 0; p < sim->num_populations(); ++p) spikes += sim->summary(p).spikes;
        if (r == 0) {
            row.build_rss_delta = rss1 > rss0 ? rss1 - rss0 : 0;
            row.simulated_s = sim->time().to_ms(sim->now()) / 1000.0;
            for (std::size_t p = 0; p < sim->num_populations(); ++p) {
                PopulationSummary s = sim->summary(p);
                if (sim->population(p).is_neuron()) row.neurons += s.neurons;
                row.pops.push_back(s);
            }
            for (std::size_t j = 0; j < sim->num_projections(); ++j) row.synapses += sim->projection(j).num_synapses();
            std::tie(row.bytes_per_synapse, row.bytes_per_plastic_synapse) = storage_bytes_per_synapse(*sim);
            row.spikes = spikes;
            row.synaptic_events = sim->synaptic_events();
            row.events = sim->events_processed();
            row.partitions = static_cast<unsigned>(sim->partitions());
            row.threads = static_cast<unsigned>(threads_running(*sim));
        } else if (spikes != row.spikes || sim->synaptic_events() != row.synaptic_events) {
            throw std::runtime_error(fmt::format("{}: repeat {} gave {} spikes and {} synaptic events, repeat 1 {} and {}",
                                                 row.network, r + 1, spikes, sim->synaptic_events(), row.spikes,
                                                 row.synaptic_events));
        }
        progress.update(double(done + std::size_t(r) + 1),
                        fmt::format("{} run {}/{}: build {:.3f} s, simulation {:.3f} s wall, {:.3f} s CPU", row.network,
                                    r + 1, repeat, build.back(), wall.back(), cpu.back()));
    }
    row.build_s = median(build);
    row.wall_s = median(wall);
    row.cpu_s = median(cpu);
    row.wall_min_s = *std::min_element(wall.begin(), wall.end());
    row.wall_max_s = *std::max_element(wall.begin(), wall.end());
    row.peak_rss = peak_rss_bytes();
    return row;
}

std::string json_str(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string json_row(const Row& r) {
    std::string pops;
    for (const auto& p : r.pops)
        pops += fmt::format("{}{{\"name\": {}, \"neurons\": {}, \"spikes\": {}, \"mean_rate_hz\": {}, \"mean_cv_isi\": {}}}",
                            pops.empty() ? "" : ", ", json_str(p.name), p.neurons, p.spikes, p.mean_rate_hz,
                            p.has_cv ? fmt::format("{}", p.mean_cv_isi) : "null");
    return fmt::format(
        "  {{\"network\": {}, \"spec\": {}, \"neurons\": {}, \"synapses\": {}, \"simulated_s\": {}, \"build_s\": {}, "
        "\"wall_s\": {}, \"wall_min_s\": {}, \"wall_max_s\": {}, \"cpu_s\": {}, \"repeat\": {}, \"real_time_factor\": {}, "
        "\"spikes\": {}, \"synaptic_events\": {}, \"events_processed\": {}, \"synaptic_events_per_s\": {}, "
        "\"ns_per_synaptic_event\": {}, \"peak_rss_bytes\": {}, \"build_rss_delta_bytes\": {}, "
        "\"bytes_per_synapse\": {}, \"bytes_per_plastic_synapse\": {}, \"threads\": {}, \"partitions\": {},\n"
        "   \"populations\": [{}]}}",
        json_str(r.network), json_str(r.spec_path), r.neurons, r.synapses, r.simulated_s, r.build_s, r.wall_s,
        r.wall_min_s, r.wall_max_s, r.cpu_s, r.repeat, r.rtf(), r.spikes, r.synaptic_events, r.events, r.syn_per_s(),
        r.ns_per_syn(), r.peak_rss, r.build_rss_delta, r.bytes_per_synapse, r.bytes_per_plastic_synapse, r.threads,
        r.partitions, pops);
}

std::string si(double x) {
    if (x >= 1e9) return fmt::format("{:.2f} G", x / 1e9);
    if (x >= 1e6) return fmt::format("{:.2f} M", x / 1e6);
    if (x >= 1e3) return fmt::format("{:.1f} k", x / 1e3);
    return fmt::format("{:.0f}", x);
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
    CommandLine cmd("spikeem bench [NAME...] [options]");
    po::options_description& opts = cmd.options();
    add_help_option(opts);
    opts.add_options()("json", "print a JSON array instead of a table");
    add_duration_option(opts, "simulated time in ms for every network (replaces run.duration_ms)");
    opts.add_options()("repeat", po::value<int>()->default_value(3), "runs per network; wall time is their median");
    add_threads_option(opts, 1,
                       "threads (and at most as many partitions) per network, 0: all cores; fewer partitions when "
                       "a network is too small to gain (as spikeem run does); results do not depend on it");
    add_partitions_option(opts);
    add_seed_option(opts, "random seed (replaces run.seed)");
    add_progress_options(opts);
    cmd.positional("name", po::value<std::vector<std::string>>(), "benchmark names", -1);
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(
            "NAME is a spec in examples/benchmarks/ of spikeem's data folder (cuba_delta, cuba_exp, cuba_stdp, coba,\n"
            "scale_4k, scale_40k, scale_400k: the default; brunel_plastic: 10k neurons, 10 M synapses, STDP, about\n"
            "14 s of CPU per simulated second, so not in the default) or a path to a spec file.  For each network the\n"
            "Simulation is built and run --repeat times on --threads threads, nothing is written.\n"
            "Columns: wall = simulation only (median; building is timed separately as build), CPU s\n"
            "= CPU time of the simulation, all threads (median; below wall when the machine is\n"
            "loaded, up to threads x wall when it is not), thr = partitions the network ran in\n"
            "(--threads, or fewer, as spikeem run chooses them; --partitions P forces P),\n"
            "RTF = wall / simulated, spikes of all populations (sources included), synaptic events\n"
            "(one per synapse a spike reaches), peak RSS = getrusage ru_maxrss of this process so far\n"
            "(a per-process peak: run one NAME per process for that network's own), B/syn = synapse\n"
            "storage (target + weight per synapse, CSR row and delay-group indices, plasticity state)\n"
            "/ synapses, B/pl the same over plastic projections only (\"-\" when there are none).\n"
            "The data folder is found next to the spikeem binary: PREFIX/share/spikeem when installed,\n"
            "share/spikeem in the build folder; SPIKEEM_DATA_DIR, when set, is looked at first.\n");
    const SpecOverrides o = spec_overrides(vm);
    const int repeat = vm["repeat"].as<int>();
    if (repeat < 1 || repeat > 1000) throw UsageError(fmt::format("--repeat = {}: expected 1 to 1000", repeat));
    const ThreadRequest threads = thread_request(vm);
    const tbb::global_control limit = thread_limit(threads.workers);
    const bool json = vm.count("json") > 0;
    const std::vector<std::string> names =
        vm.count("name") ? vm["name"].as<std::vector<std::string>>() : kDefaultNetworks;
    for (const auto& n : names) resolve_spec(n);  // fail on a bad name before running anything

    ProgressReporter progress("bench", double(names.size() * std::size_t(repeat)), ProgressUnit{"runs", 1, "", 1.0},
                              progress_mode(vm));
    std::vector<Row> rows;
    if (!json) {
        fmt::print("{:<14} {:>8} {:>9} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10} {:>7} {:>9} {:>6} {:>6} {:>3}\n",
                   "network", "neurons", "synapses", "sim s", "build s", "wall s", "CPU s", "RTF", "spikes", "syn ev", "syn ev/s",
                   "ns/ev", "peak RSS", "B/syn", "B/pl", "thr");
        std::fflush(stdout);
    }
    progress.update(0);  // --progress: says at once what runs
    for (const auto& n : names) {
        Row r = bench_one(n, o, repeat, threads, progress, rows.size() * std::size_t(repeat));
        if (!json) {
            progress.suspend();
            fmt::print("{:<14} {:>8} {:>9} {:>6.3g} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>9} {:>9} {:>10} {:>7.1f} {:>9} "
                       "{:>6.2f} {:>6} {:>3}\n",
                       r.network, si(r.neurons), si(r.synapses), r.simulated_s, r.build_s, r.wall_s, r.cpu_s, r.rtf(),
                       si(r.spikes), si(r.synaptic_events), si(r.syn_per_s()), r.ns_per_syn(),
                       fmt::format("{:.0f} MB", r.peak_rss / 1e6), r.bytes_per_synapse,
                       r.bytes_per_plastic_synapse > 0 ? fmt::format("{:.2f}", r.bytes_per_plastic_synapse) : "-",
                       r.partitions);
            std::fflush(stdout);
        }
        rows.push_back(std::move(r));
    }
    progress.finish();
    if (json) {
        std::string out = "[\n";
        for (std::size_t i = 0; i < rows.size(); ++i) out += json_row(rows[i]) + (i + 1 < rows.size() ? ",\n" : "\n");
        out += "]\n";
        fmt::print("{}", out);
    } else {
        fmt::print("wall: simulation only, median of {} runs; peak RSS: per-process peak so far (ru_maxrss); "
                   "B/syn, B/pl: synapse storage estimate, all / plastic synapses; thr: partitions (threads)\n",
                   repeat);
    }
    return kExitOk;
}

}  // namespace spikeem::io

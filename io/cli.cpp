// The spikeem command line: `spikeem COMMAND [options]`.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

using namespace spikeem::io;

namespace {

const char* kTopHelp =
    "spikeem: an event-driven spiking network simulator\n"
    "\n"
    "usage: spikeem COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run SPEC --out DIR [--seed N] [--duration-ms T] [--threads N]\n"
    "                                                    simulate a network spec (on N threads)\n"
    "  validate SPEC                                     check a spec without running it\n"
    "  stdp-curve --out DIR [rule options | --spec FILE] STDP curve of a rule by the pairing protocol\n"
    "  eq1-curve --out DIR [options]                     the STDP curve Eq. 1 produces (paper Fig. 1)\n"
    "  drift --out DIR [options]                         pair STDP drift against its rate-form identity\n"
    "  gradcheck SPEC --out DIR [--seeds N]              spiking dW against the objective's dJ/dW\n"
    "  bench [NAME...] [--json] [--repeat N] [--threads N]\n"
    "                                                    time benchmark networks (examples/benchmarks)\n"
    "\n"
    "  spikeem COMMAND --help   options of a command\n"
    "  spikeem --version        version\n"
    "\n"
    "SPEC is protobuf text format (.pbtxt), or binary protobuf if it ends in .pb or .binpb;\n"
    "the schema is io/spikeem.proto.  Exit status: 0 success, 1 run failure, 2 bad usage or spec.\n";

}  // namespace

po::variables_map spikeem::io::parse_args(const std::vector<std::string>& args, const po::options_description& visible,
                                          const po::options_description& all,
                                          const po::positional_options_description& pos) {
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
        if (vm.count("help")) return vm;
        po::notify(vm);
    } catch (const po::error& e) {
        std::ostringstream os;
        os << visible;
        throw UsageError(fmt::format("{}\n\n{}", e.what(), os.str()));
    }
    return vm;
}

namespace {

spikeem::io::SpecOverrides overrides_from(const po::variables_map& vm) {
    spikeem::io::SpecOverrides o;
    if (vm.count("seed")) o.seed = vm["seed"].as<std::uint64_t>();
    if (vm.count("duration-ms")) o.duration_ms = vm["duration-ms"].as<double>();
    return o;
}

}  // namespace

int spikeem::io::cmd_run(const std::vector<std::string>& args) {
    po::options_description opts("spikeem run SPEC --out DIR [options]");
    opts.add_options()("help,h", "show this help")("out,o", po::value<std::string>()->required(),
                                                    "output folder (created if missing)")(
        "seed", po::value<std::uint64_t>(), "random seed (replaces run.seed of the spec)")(
        "duration-ms", po::value<double>(), "simulated time in ms (replaces run.duration_ms)")(
        "threads", po::value<int>()->default_value(1),
        "run the network on N threads (N partitions of its neurons; 0: all cores); outputs do not depend on it")(
        "quiet,q", "print nothing on success");
    po::options_description all = opts;
    all.add_options()("spec", po::value<std::string>()->required(), "spec file");
    po::positional_options_description pos;
    pos.add("spec", 1);
    auto vm = parse_args(args, opts, all, pos);
    if (vm.count("help")) {
        std::cout << opts << "\nWrites DIR/spikes.csv (t_ms,population,neuron), DIR/voltages.csv when voltages are\n"
                             "recorded (t_ms,population,neuron,v_mV), and DIR/run.json (provenance and statistics).\n"
                             "--threads N splits every population into N contiguous chunks that advance in parallel\n"
                             "between exchanges of spikes (epochs of the network's minimum delay); every output is\n"
                             "byte-identical for any N except run.json's wall_time_s.  A network whose minimum delay\n"
                             "(less the window of central-difference voltage rules) is 0 runs on one thread.\n";
        return kExitOk;
    }
    const std::string spec_path = vm["spec"].as<std::string>();
    LoadedSpec spec = load_spec_file(spec_path, overrides_from(vm));

    const tbb::global_control limit = thread_limit(vm["threads"].as<int>());
    const unsigned threads = resolve_threads(vm["threads"].as<int>());
    auto t0 = std::chrono::steady_clock::now();
    Simulation sim(spec.spec, threads);
    sim.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const fs::path out = vm["out"].as<std::string>();
    write_run_outputs(out, sim, spec, RunInfo{spec_path, wall});

    if (!vm.count("quiet")) {
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
    return kExitOk;
}

int spikeem::io::cmd_validate(const std::vector<std::string>& args) {
    po::options_description opts("spikeem validate SPEC [options]");
    opts.add_options()("help,h", "show this help");
    po::options_description all = opts;
    all.add_options()("spec", po::value<std::string>()->required(), "spec file");
    po::positional_options_description pos;
    pos.add("spec", 1);
    auto vm = parse_args(args, opts, all, pos);
    if (vm.count("help")) {
        std::cout << opts << "\nChecks a spec and prints a summary; exit status 2 and the problems if it is invalid.\n";
        return kExitOk;
    }
    const std::string spec_path = vm["spec"].as<std::string>();
    LoadedSpec spec = load_spec_file(spec_path);
    std::uint64_t neurons = 0;
    for (const auto& p : spec.spec.populations) neurons += p.size;
    fmt::print("{}: valid ({} populations, {} neurons, {} projections; {})\n", spec_path, spec.spec.populations.size(),
               neurons, spec.spec.projections.size(), spec.hash);
    return kExitOk;
}

int main(int argc, char** argv) {    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
            std::cout << kTopHelp;
            return args.empty() ? kExitUsage : kExitOk;
        }
        if (args[0] == "--version") {
            fmt::print("spikeem {}\n", version());
            return kExitOk;
        }
        const std::string cmd = args[0];
        args.erase(args.begin());
        const std::map<std::string, int (*)(const std::vector<std::string>&)> commands = {
            {"run", cmd_run},
            {"validate", cmd_validate},
            {"stdp-curve", cmd_stdp_curve},
            {"eq1-curve", cmd_eq1_curve},
            {"drift", cmd_drift},
            {"gradcheck", cmd_gradcheck},
            {"bench", cmd_bench}};
        auto it = commands.find(cmd);
        if (it == commands.end()) throw UsageError(fmt::format("unknown command \"{}\"\n\n{}", cmd, kTopHelp));
        return it->second(args);
    } catch (const UsageError& e) {
        fmt::print(stderr, "spikeem: {}\n", e.what());
        return kExitUsage;
    } catch (const SpecError& e) {
        fmt::print(stderr, "{}\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "spikeem: error: {}\n", e.what());
        return kExitFailure;
    }
}

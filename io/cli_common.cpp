#include "io/cli_common.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "io/paths.hpp"

namespace po = boost::program_options;

namespace spikeem::io {

CommandLine::CommandLine(const std::string& caption) : visible_(caption), usage_(caption) {}

void CommandLine::spec_argument(const char* what) {
    spec_what_ = what;
    positional("spec", po::value<std::string>()->required(), "spec file", 1);
}

void CommandLine::positional(const char* name, const po::value_semantic* value, const char* what, int max_count) {
    hidden_.add_options()(name, value, what);
    positional_.add(name, max_count);
}

namespace {

// Boost reads "-1" into an unsigned option as 2^64 - 1 (or 2^32 - 1): refuse a
// minus sign on every option whose value is an unsigned integer.
void refuse_negative_unsigned(const po::parsed_options& parsed, const po::options_description& all) {
    for (const po::option& o : parsed.options) {
        const po::option_description* d = o.string_key.empty() ? nullptr : all.find_nothrow(o.string_key, false);
        if (d == nullptr) continue;
        const po::value_semantic* sem = d->semantic().get();
        const bool is_unsigned = dynamic_cast<const po::typed_value<unsigned long>*>(sem) != nullptr ||
                                 dynamic_cast<const po::typed_value<unsigned long long>*>(sem) != nullptr ||
                                 dynamic_cast<const po::typed_value<unsigned>*>(sem) != nullptr;
        if (!is_unsigned) continue;
        for (const std::string& value : o.value) {
            const std::size_t first = value.find_first_not_of(" \t");
            if (first != std::string::npos && value[first] == '-')
                throw po::error(fmt::format("the argument ('{}') for option '--{}' is invalid: expected an integer >= 0",
                                            value, o.string_key));
        }
    }
}

}  // namespace

po::variables_map CommandLine::parse(const std::vector<std::string>& args) const {
    po::options_description all = visible_;
    all.add(hidden_);
    po::variables_map vm;
    try {
        // No abbreviations: `--thread` or `--se` must not silently mean `--threads` or `--seed`.
        const po::parsed_options parsed =
            po::command_line_parser(args)
                .options(all)
                .positional(positional_)
                .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                .run();
        refuse_negative_unsigned(parsed, all);
        po::store(parsed, vm);
        if (vm.count("help")) return vm;
        if (!spec_what_.empty() && vm.count("spec") == 0) {
            // usage_ is "spikeem NAME ...": the command is its second word.
            const std::size_t name_begin = usage_.find(' ') + 1;
            const std::string command = usage_.substr(name_begin, usage_.find(' ', name_begin) - name_begin);
            throw UsageError(fmt::format("{}: missing SPEC ({}); usage: {} (spikeem {} --help lists the options)",
                                         command, spec_what_, usage_, command));
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::ostringstream os;
        os << visible_;
        throw UsageError(fmt::format("{}\n\n{}", e.what(), os.str()));
    }
    return vm;
}

int CommandLine::print_help(std::string_view details) const {
    std::cout << visible_ << "\n" << details;
    return kExitOk;
}

void add_help_option(po::options_description& d) { d.add_options()("help,h", "show this help"); }

void add_out_option(po::options_description& d, const char* help) {
    d.add_options()("out,o", po::value<std::string>()->required(), help);
}

void add_threads_option(po::options_description& d, int default_threads, const char* help) {
    d.add_options()("threads", po::value<int>()->default_value(default_threads), help);
}

void add_seed_option(po::options_description& d, const char* help) {
    d.add_options()("seed", po::value<std::uint64_t>(), help);
}

void add_duration_option(po::options_description& d, const char* help) {
    d.add_options()("duration-ms", po::value<double>(), help);
}

void add_set_option(po::options_description& d) {
    d.add_options()("set", po::value<std::vector<std::string>>()->composing(),
                    "FIELD.PATH=VALUE: change one field of the spec before it is checked, e.g.\n"
                    "--set 'population[E].lif_delta.tau_m_ms=10' (repeatable; recorded in run.json)");
}

std::string spec_path(const po::variables_map& vm) { return vm["spec"].as<std::string>(); }

SpecOverrides spec_overrides(const po::variables_map& vm) {
    SpecOverrides o;
    if (vm.count("seed")) o.seed = vm["seed"].as<std::uint64_t>();
    if (vm.count("duration-ms")) o.duration_ms = vm["duration-ms"].as<double>();
    if (vm.count("set")) o.set = vm["set"].as<std::vector<std::string>>();
    return o;
}

std::vector<double> number_list(const std::string& option, const std::string& text) {
    std::vector<double> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            std::size_t used = 0;
            double x = std::stod(item, &used);
            if (used != item.size() || !std::isfinite(x)) throw std::invalid_argument(item);
            out.push_back(x);
        } catch (const std::exception&) {
            throw UsageError(fmt::format("--{} = \"{}\": \"{}\" is not a number", option, text, item));
        }
    }
    if (out.empty())
        throw UsageError(fmt::format("--{} = \"{}\": expected a comma-separated list of numbers", option, text));
    return out;
}

namespace {
// Each partition of a network costs per-neuron bookkeeping for the whole network, so the count is bounded.
constexpr int kMaxThreads = 256;
void check_threads(int threads) {
    if (threads < 0 || threads > kMaxThreads)
        throw UsageError(fmt::format("--threads = {}: expected 0 (all cores) to {}", threads, kMaxThreads));
}
}  // namespace

tbb::global_control thread_limit(int threads) {
    check_threads(threads);
    return tbb::global_control(tbb::global_control::max_allowed_parallelism,
                               threads > 0 ? static_cast<std::size_t>(threads)
                                           : tbb::global_control::active_value(
                                                 tbb::global_control::max_allowed_parallelism));
}

unsigned resolve_threads(int threads) {
    check_threads(threads);
    if (threads > 0) return static_cast<unsigned>(threads);
    return static_cast<unsigned>(
        tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

void add_partitions_option(po::options_description& d) {
    d.add_options()("partitions", po::value<int>(),
                    "split the network into exactly P partitions, even when its epochs hold too little work to "
                    "gain from it (see --threads); runs on --threads threads if given, else on P");
}

ThreadRequest thread_request(const po::variables_map& vm) {
    const int threads = vm["threads"].as<int>();
    check_threads(threads);
    ThreadRequest r;
    if (vm.count("partitions")) {
        const int p = vm["partitions"].as<int>();
        if (p < 1 || p > kMaxThreads)
            throw UsageError(fmt::format("--partitions = {}: expected 1 to {}", p, kMaxThreads));
        r.threads = static_cast<unsigned>(p);
        r.how = Partitioning::Exact;
        r.workers = vm["threads"].defaulted() ? p : threads;
        return r;
    }
    r.threads = resolve_threads(threads);
    r.workers = threads;
    return r;
}

std::string partition_note(const Simulation& sim, Partitioning how, std::string_view prefix) {
    const PartitionPlan& plan = sim.partition_plan();
    const std::string epoch =
        fmt::format("an epoch (the lookahead, {:g} ms) holds about {} events", sim.time().to_ms(plan.lookahead),
                    // Two significant figures below 10 ("0.0064", not "0"), whole numbers above.
                    plan.events_per_epoch < 10.0 ? fmt::format("{:.2g}", plan.events_per_epoch)
                                                 : fmt::format("{:.0f}", plan.events_per_epoch));
    if (plan.limit == "lookahead 0")
        return fmt::format("note: {}: {} threads asked for, 1 partition used: some spike acts at its own tick (the "
                           "smallest delay, less any central-difference window, is 0)", prefix, plan.threads);
    if (plan.limit == "tied weights")
        return fmt::format("note: {}: {} threads asked for, 1 partition used: a tied projection's weights are written "
                           "from both directions", prefix, plan.threads);
    if (plan.limit == "work")
        return fmt::format("note: {}: {} threads asked for, {} partition{} used: {}, and a partition needs about {:.0f} "
                           "to gain from a thread of its own (--partitions {} splits it anyway)",
                           prefix, plan.threads, plan.partitions, plan.partitions == 1 ? "" : "s", epoch,
                           PartitionPlan::kMinEventsPerPartition, plan.threads);
    if (how == Partitioning::Exact && plan.partitions > plan.by_work)
        return fmt::format("warning: {}: --partitions {}: {}, fewer than about {:.0f} per partition: the run is likely "
                           "slower than in {} (--threads {} chooses)",
                           prefix, plan.partitions, epoch, PartitionPlan::kMinEventsPerPartition,
                           plan.by_work == 1 ? std::string("1 partition") : fmt::format("{} partitions", plan.by_work),
                           plan.partitions);
    return "";
}

int run_plot_script(const std::string& script, const std::filesystem::path& out) {
    return make_plot("spikeem", std::filesystem::path("examples") / script, out) ? kExitOk : kExitFailure;
}

}  // namespace spikeem::io

#pragma once
// Shared pieces of the command line (io/cli*.cpp).
#include <boost/program_options.hpp>
#include <tbb/global_control.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace spikeem::io {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the run itself failed (I/O, internal)
inline constexpr int kExitUsage = 2;    // bad command line or bad spec: nothing was written

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The command line of one command: the options that its --help and its usage
// errors list (in the order they are added), and positional arguments, which
// are not listed.
class CommandLine {
public:
    explicit CommandLine(const std::string& caption);

    boost::program_options::options_description& options() { return visible_; }

    // SPEC: one required positional argument, the spec file (see spec_path).
    // Without it parse says "COMMAND: missing SPEC (`what`); usage: CAPTION",
    // not boost's complaint about an option --spec that no user can type.
    void spec_argument(const char* what = "the spec file");
    // Positional arguments stored under `name`, at most `max_count` of them (-1: any number).
    void positional(const char* name, const boost::program_options::value_semantic* value, const char* what,
                    int max_count);

    // Parses a command's arguments (those after its name).  A parse error becomes a
    // UsageError that carries the listed options; with --help the values are not
    // checked (required options may be missing).
    boost::program_options::variables_map parse(const std::vector<std::string>& args) const;

    // Prints the options, a blank line and `details` to stdout; returns kExitOk.
    int print_help(std::string_view details) const;

private:
    boost::program_options::options_description visible_;
    boost::program_options::options_description hidden_;
    boost::program_options::positional_options_description positional_;
    std::string usage_;      // the caption: "spikeem run SPEC --out DIR [options]"
    std::string spec_what_;  // empty: no SPEC argument
};

// Options several commands share, with the same name, type and default
// everywhere; each command says in its help text what the option means to it.
void add_help_option(boost::program_options::options_description& d);  // --help, -h
// --out DIR, -o DIR (required).
void add_out_option(boost::program_options::options_description& d, const char* help = "output folder");
// --threads N with a default; read it with thread_limit or resolve_threads.
void add_threads_option(boost::program_options::options_description& d, int default_threads, const char* help);
// --seed N and --duration-ms T without defaults: unset leaves the spec's own value.
void add_seed_option(boost::program_options::options_description& d, const char* help);
void add_duration_option(boost::program_options::options_description& d, const char* help);
// --set FIELD.PATH=VALUE, repeatable (io/spec_set.hpp).
void add_set_option(boost::program_options::options_description& d);

// The SPEC argument of a command that declared spec_argument().
std::string spec_path(const boost::program_options::variables_map& vm);
// --seed and --duration-ms as the overrides of a spec's run settings.
SpecOverrides spec_overrides(const boost::program_options::variables_map& vm);

// "--option = text": a comma-separated list of finite numbers, or a UsageError.
std::vector<double> number_list(const std::string& option, const std::string& text);

// Limits TBB to `threads` workers while the returned object lives (0: all
// cores); a count outside 0 to 256 is a UsageError.
tbb::global_control thread_limit(int threads);

// The partition count for `--threads N` of run and bench: N, or for 0 the
// number of cores TBB may use; a count outside 0 to 256 is a UsageError.
unsigned resolve_threads(int threads);

// --partitions P of run and bench (no default): P partitions exactly, on
// --threads threads if given, else on P.
void add_partitions_option(boost::program_options::options_description& d);
// What --threads and --partitions ask for: `threads` (the Simulation's
// argument: partitions wanted, or at most) and how it becomes a partition
// count; `workers` is the TBB limit (thread_limit).  Counts outside 1 to 256
// (threads: 0 to 256) are a UsageError.
struct ThreadRequest {
    unsigned threads = 1;
    Partitioning how = Partitioning::ByWork;
    int workers = 1;
};
ThreadRequest thread_request(const boost::program_options::variables_map& vm);
// A line for stderr when the network runs in fewer partitions than the
// threads asked for (and why), or in more than its work per epoch pays for
// (a forced --partitions); empty otherwise.  `prefix` starts it ("spikeem run").
std::string partition_note(const Simulation& sim, Partitioning how, std::string_view prefix);

// Runs `PYTHON examples/SCRIPT OUT_DIR` (make_plot, io/paths.hpp: the script
// from spikeem's data folder, Python with matplotlib); on failure says the CSV
// outputs are complete and returns kExitFailure.
int run_plot_script(const std::string& script, const std::filesystem::path& out);

// The command handlers, one row each in the command table of io/cli.cpp: `args`
// are the arguments after the command's name; the result is the exit status.
int cmd_run(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_resume(const std::vector<std::string>& args);
int cmd_stdp_curve(const std::vector<std::string>& args);
int cmd_eq1_curve(const std::vector<std::string>& args);
int cmd_drift(const std::vector<std::string>& args);
int cmd_gradcheck(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_data(const std::vector<std::string>& args);
int cmd_em_train(const std::vector<std::string>& args);
int cmd_em_eval(const std::vector<std::string>& args);
int cmd_em_bench(const std::vector<std::string>& args);
int cmd_em_spiking(const std::vector<std::string>& args);
int cmd_em_spiking_train(const std::vector<std::string>& args);

}  // namespace spikeem::io

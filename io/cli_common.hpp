#pragma once
// Shared pieces of the command line (io/cli*.cpp).
#include <boost/program_options.hpp>
#include <tbb/global_control.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace spikeem::io {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the run itself failed (I/O, internal)
inline constexpr int kExitUsage = 2;    // bad command line or bad spec: nothing was written

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Parse a subcommand's arguments; a parse error becomes a UsageError that
// carries the visible options.  With --help the values are not checked.
boost::program_options::variables_map parse_args(const std::vector<std::string>& args,
                                                 const boost::program_options::options_description& visible,
                                                 const boost::program_options::options_description& all,
                                                 const boost::program_options::positional_options_description& pos);

// "--option = text": a comma-separated list of finite numbers, or a UsageError.
std::vector<double> number_list(const std::string& option, const std::string& text);

// Limits TBB to `threads` workers while the returned object lives (0: all
// cores); a negative count is a UsageError.
tbb::global_control thread_limit(int threads);

// The partition count for `--threads N` of run and bench: N, or for 0 the
// number of cores TBB may use; a negative count is a UsageError.
unsigned resolve_threads(int threads);

// Runs `python3 examples/SCRIPT OUT_DIR` (paths in the source tree); on
// failure says the CSV outputs are complete and returns kExitFailure.
int run_plot_script(const std::string& script, const std::filesystem::path& out);

int cmd_run(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_stdp_curve(const std::vector<std::string>& args);
int cmd_eq1_curve(const std::vector<std::string>& args);
int cmd_drift(const std::vector<std::string>& args);
int cmd_gradcheck(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);

}  // namespace spikeem::io

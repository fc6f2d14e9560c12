#pragma once
// `spikeem gradcheck` as data: its options, checked and run by
// run_gradcheck_command, which returns what the command writes.  The command
// line (io/cli_grad.cpp) loads the spec and writes the files; the Python
// module passes a spec it validated.  One set of checks: a bad value is a
// UsageError naming the option as a flag, a spec without objective a SpecError.
#include <optional>
#include <string>
#include <vector>

#include "experiments/gradcheck.hpp"
#include "io/progress.hpp"
#include "io/spec_loader.hpp"

namespace spikeem::io {

struct GradcheckCommandOptions {
    int seeds = 5;                      // seeds 1..seeds
    std::optional<double> duration_ms;  // the longest checkpoint; unset: the spec's run.duration_ms
    int threads = 0;                    // TBB workers while it runs (0: all cores); results do not depend on it
    ProgressMode progress = ProgressMode::Never;  // lines on stderr (io/progress.hpp); results do not depend on it
};

struct GradcheckRun {
    GradcheckOptions options;  // seeds and checkpoints
    GradcheckResult result;
    std::vector<AlignmentSummary> summary;  // summarize(result)
    double wall_s = 0.0;
};

// `origin` names the spec in messages and in gradcheck.json (the file name on the command line).
GradcheckRun run_gradcheck_command(const LoadedSpec& spec, const std::string& origin,
                                   const GradcheckCommandOptions& options);

// gradcheck.json.
std::string gradcheck_json(const std::string& origin, const LoadedSpec& spec, const GradcheckRun& run);

// The layer of each weight index of dw.csv ("" outside every named group).
std::string weight_layer(const GradcheckResult& r, std::size_t index);

}  // namespace spikeem::io

#include "io/cli_common.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#ifndef SPIKEEM_EXAMPLES_DIR
#define SPIKEEM_EXAMPLES_DIR "examples"
#endif

namespace spikeem::io {

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

int run_plot_script(const std::string& script, const std::filesystem::path& out) {
    std::fflush(stdout);  // our lines before the script's
    const std::string cmd = fmt::format("/usr/bin/python3 \"{}/{}\" \"{}\"", SPIKEEM_EXAMPLES_DIR, script, out.string());
    if (std::system(cmd.c_str()) != 0) {
        fmt::print(stderr, "spikeem: the plot failed (is python3-matplotlib installed?); the CSV outputs are complete\n");
        return kExitFailure;
    }
    return kExitOk;
}

}  // namespace spikeem::io

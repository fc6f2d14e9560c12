// `spikeem em-bench`: the wall time of a variational-EM training epoch and
// the fraction of the machine's dense-matrix speed it reaches.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "experiments/vem/bench.hpp"
#include "io/cli_common.hpp"
#include "io/cli_em.hpp"
#include "io/progress.hpp"

namespace po = boost::program_options;

namespace spikeem::io {

int cmd_em_bench(const std::vector<std::string>& args) {
    CommandLine cli("spikeem em-bench [--data DIR] [options]");
    auto& opts = cli.options();
    add_help_option(opts);
    opts.add_options()("data", po::value<std::string>()->default_value("data/mnist"), "the digit set (as for em-train)")(
        "limit", po::value<int>()->default_value(0), "time an epoch of the first N training digits (0: all)");
    add_progress_options(opts);
    add_threads_option(opts, 0, "worker threads (0: all cores)");
    const po::variables_map vm = cli.parse(args);
    if (vm.count("help"))
        return cli.print_help(
            "Times one training epoch of em-train's model (from the same initial weights as em-train\n"
            "--seed 1) and, in the same run, Eigen's matrix product alone on the shapes of an INFERENCE\n"
            "iteration: the machine's dense speed for this work.  Prints both and their ratio.\n");
    const int limit = vm["limit"].as<int>();
    if (limit < 0) throw UsageError(fmt::format("--limit {}: expected 0 (all) or a positive count", limit));
    const auto threads = thread_limit(vm["threads"].as<int>());
    const vem::DigitSet set = load_digit_set(vm["data"].as<std::string>());
    const vem::Matrix train = limit > 0 && limit < set.train.x.cols() ? vem::Matrix(set.train.x.leftCols(limit))
                                                                      : set.train.x;
    vem::TrainSettings s;
    vem::InitSettings init;
    init.n_x = train.rows();
    init.pixel_mean = train.rowwise().mean();
    vem::Model m = vem::init_model(init);
    const ProgressMode mode = progress_mode(vm);
    const bool quiet = mode == ProgressMode::Never;
    ProgressReporter progress("em-bench", 0.0, ProgressUnit::count("minibatches"), mode);
    progress.set_part("one epoch");
    const Stopwatch wall;
    const vem::EpochStats st = vem::train_epoch(m, train, 1, s, [&](int, Eigen::Index done, Eigen::Index total,
                                                                   const vem::EpochStats& so_far) {
        progress.set_total(static_cast<double>(total));
        progress.update(static_cast<double>(done), fmt::format("{:.0f} examples/s", so_far.examples_per_s));
    });
    const double epoch_s = wall.seconds();
    progress.finish();
    const double gflops = vem::training_flops_per_example(m, s) * static_cast<double>(train.cols()) / epoch_s / 1e9;
    if (!quiet) fmt::print(stderr, "em-bench: Eigen matrix products alone on the same shapes (3 s)\n");
    const double reference = vem::gemm_reference_gflops(m, s.batch / vem::kChunk, 3.0);
    fmt::print("em-bench: epoch of {} digits (batch {}, {} INFERENCE steps): {:.2f} s, {:.0f} examples/s, "
               "{:.1f} GFLOP/s in matrix products\n", train.cols(), s.batch, s.inference.steps, epoch_s,
               st.examples_per_s, gflops);
    fmt::print("em-bench: Eigen matrix products alone, same shapes and threads: {:.1f} GFLOP/s; the epoch reaches "
               "{:.0f} % of it\n", reference, 100.0 * gflops / reference);
    return kExitOk;
}

}  // namespace spikeem::io

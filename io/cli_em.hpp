#pragma once
// Pieces shared by `spikeem em-train`, `em-eval` and `em-bench` (io/cli_em_*.cpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "experiments/vem/digits.hpp"
#include "experiments/vem/parzen.hpp"
#include "experiments/vem/train.hpp"
#include "io/progress.hpp"
#include "io/vem_model_io.hpp"

namespace spikeem::io {

// The digit set in `dir` (io/digits.hpp); its errors become usage errors
// (exit status 2) that name --data.
vem::DigitSet load_digit_set(const std::string& dir);

// The model of an em-train folder (its model.pb) or of a model file, with a
// fitted prior; anything else is a usage error naming RUN.
vem::Model read_trained_model(const std::filesystem::path& run);

// FNV-1a (stable_hash) over the pixels of x as bytes round(255 p), column by column.
std::uint64_t pixel_fingerprint(const vem::Matrix& x);

// Mean Parzen log-likelihood of `queries` under `centres`, with sigma chosen
// on the same queries from the default grid: the quick measure em-train
// prints every few epochs (optimistic by the choice of sigma; em-eval chooses
// sigma on the validation split and scores the test split).
double quick_parzen_ll(const vem::Matrix& queries, const vem::Matrix& centres);

// The progress mode of em-train's and em-eval's options.
inline ProgressMode em_progress_mode(bool quiet, bool progress) {
    return quiet ? ProgressMode::Never : progress ? ProgressMode::Always : ProgressMode::Auto;
}

// Elapsed seconds since construction.
struct Stopwatch {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

// `spikeem em-train` and `em-eval` as options and runs (io/cli_em_train.cpp,
// io/cli_em_eval.cpp): the command line fills the options from its flags, the
// Python module from keyword arguments; one set of checks, a bad value is a
// UsageError naming the option as a flag.  Both write their folder (the
// commands' contract), and return what they wrote; neither plots nor prints
// on stdout (progress on stderr unless quiet).

struct EmTrainOptions {
    std::string data;  // the digit set's folder
    std::filesystem::path out;  // the run folder
    int epochs = 20;
    int limit = 0;  // the first N training digits only (0: all)
    std::uint64_t seed = 1;
    float learning_rate = 0.01f;
    int eval_every = 5;  // validation Parzen LL every N epochs and at the end (0: never)
    bool resume = false;
    int stop_after = 0;  // stop after this epoch as if interrupted (0: never)
    bool quiet = false;     // no lines on stderr
    bool progress = false;  // progress lines from the start (--progress; default: after 2 s); quiet wins
    int threads = 0;  // TBB workers (0: all cores); results are the same for any count
};

struct EmTrainResult {
    proto::VemModel model;  // the run's model with its history (as in checkpoint.pb)
    bool finished = false;  // every epoch done: model.pb written
    double wall_s = 0.0;
};

EmTrainResult run_em_train(const EmTrainOptions& options);

// One row of train.csv: per epoch, layer 1 then layer 2.
struct TrainCsvRow {
    std::uint32_t epoch;
    int layer;
    double reconstruction_loss, prediction_loss, log_p_xh, examples_per_s, h_norm, val_ll_generate, val_ll_ancestral;
};
std::vector<TrainCsvRow> train_csv_rows(const proto::VemModel& model);

struct EmEvalOptions {
    std::string run;  // an em-train folder or a model file
    std::string data;
    std::filesystem::path out;
    std::optional<int> samples;  // unset: 10000, or 20 with spiking
    std::string split = "test";  // test or validation
    std::uint64_t seed = 1;
    bool spiking = false;
    double spiking_step_ms = 5.0;
    bool quiet = false;     // no lines on stderr
    bool progress = false;  // progress lines from the start (--progress; default: after 2 s); quiet wins
    int threads = 0;
};

// One set of Parzen centres scored on the evaluation digits with sigma chosen on validation.
struct ScoredCentres {
    std::string name;
    vem::SigmaChoice sigma;
    vem::ParzenScore score;
};

// One row of inference.csv: log p(x, h) by term over INFERENCE.
struct InferenceCsvRow {
    float alpha;
    std::size_t iteration;
    const char* term;
    double mean, se;
};

struct EmEvalResult {
    std::string parzen_json;           // parzen.json
    std::vector<InferenceCsvRow> inference;  // inference.csv
    std::vector<ScoredCentres> scored;  // GENERATE, ancestral, training digits, baseline (, GENERATE rate)
    vem::ParzenScore gap;               // GENERATE minus ancestral, paired
    Eigen::Index n_eval = 0;
    double wall_s = 0.0;
};

EmEvalResult run_em_eval(const EmEvalOptions& options);

}  // namespace spikeem::io

#pragma once
// Pieces shared by `spikeem em-train`, `em-eval` and `em-bench` (io/cli_em_*.cpp).
#include <chrono>
#include <filesystem>
#include <string>

#include "experiments/vem/digits.hpp"
#include "experiments/vem/parzen.hpp"
#include "experiments/vem/train.hpp"
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

// "1m05s"-style durations for progress lines.
std::string short_duration(double seconds);

// Elapsed seconds since construction.
struct Stopwatch {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

}  // namespace spikeem::io

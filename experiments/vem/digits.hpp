#pragma once
// A set of digit images split into train, validation and test, as the
// experiments of experiments/vem/ use it (io/digits.hpp reads one from disk).
#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/vem/model.hpp"

namespace spikeem::vem {

// One split: the images as columns and, per column, the label and the row of
// the image in the source files it came from.
struct DigitSplit {
    Matrix x;                          // (rows * cols) x n, pixel (r, c) at row r * cols + c, byte / 255 in [0, 1]
    std::vector<int> labels;           // n
    std::vector<std::uint32_t> index;  // n: the image's row (from 0) in its source IDX file
    Eigen::Index size() const { return x.cols(); }
};

struct DigitSet {
    std::string source;      // where the digits came from, e.g. "split.csv of data/mnist"
    std::string split_rule;  // one sentence: how the three splits were made
    Eigen::Index rows = 28, cols = 28;  // image size (pixels)
    DigitSplit train, validation, test;
};

}  // namespace spikeem::vem

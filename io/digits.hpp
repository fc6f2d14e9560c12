#pragma once
// Reading a digit set (train / validation / test) from a folder of IDX files
// (io/idx.hpp), in one of two layouts:
//
// 1. What `spikeem data mnist` writes (examples/data/README.md): DIR/split.csv
//    (`index,label,split`) with DIR/images-idx3-ubyte and DIR/labels-idx1-ubyte.
//    Each split holds the digits split.csv gives it, in the file's row order;
//    digits it does not list are unused.  Every row is checked: the header is
//    exactly `index,label,split`, an index is a whole number within the files
//    and listed at most once, its label equals the labels file's, and the
//    split is train, validation or test.  The sentence on how the split was
//    made comes from DIR/dataset.json's split_method and split_seed when the
//    file is there.
// 2. The standard MNIST names (full MNIST, Fashion-MNIST, EMNIST as
//    distributed): train-images-idx3-ubyte, train-labels-idx1-ubyte,
//    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or with .gz
//    (the plain one if both are there).  test = the t10k files; validation =
//    the last 10,000 digits of the training files if they hold more than
//    10,000, else their last tenth (rounded down); train = the rest.  So
//    MNIST and Fashion-MNIST give 50,000 / 10,000 / 10,000.
//
// split.csv decides when it is present.  Pixels are scaled by 1/255; the
// image size is the files' (train and test files must agree) and need not be
// 28 x 28.  Every split must end up with at least one digit.
#include <filesystem>
#include <stdexcept>

#include "experiments/vem/digits.hpp"

namespace spikeem::io {

// A digit set that cannot be read: the message names the file (and for
// split.csv the line), the value found and what was expected.  Malformed IDX
// files (io/idx.hpp's IdxError) are reported as this too, prefixed by DIR.
struct DataError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

vem::DigitSet load_digits(const std::filesystem::path& dir);

}  // namespace spikeem::io

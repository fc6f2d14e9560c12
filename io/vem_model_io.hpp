#pragma once
// A variational-EM model on disk: io/vem.proto's VemModel, binary protobuf.
// The same message is the final model (model.pb) and the per-epoch
// checkpoint (checkpoint.pb): weights, prior, settings, data and history.
#include <filesystem>
#include <stdexcept>
#include <string>

#include "experiments/vem/train.hpp"
#include "io/vem.pb.h"

namespace spikeem::io {

inline constexpr unsigned kVemFormatVersion = 1;

// A model file that cannot be read or does not hold a usable model; the
// message names the file and what was wrong.
struct VemModelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The weights and prior of `m` into `out` (other fields untouched).
void store_model(const vem::Model& m, proto::VemModel& out);
// The model a message holds; checks the format version, the four maps'
// names, activations and shapes (f1: n_h1 x n_x, f2: n_h2 x n_h1, g2: n_h1 x
// n_h2, g1: n_x x n_h1) and the prior's size.  `file` is used in messages.
vem::Model load_model(const proto::VemModel& msg, const std::string& file);

proto::VemTrainSettings settings_proto(const vem::TrainSettings& s, unsigned limit, unsigned n_h1, unsigned n_h2);
vem::TrainSettings train_settings(const proto::VemTrainSettings& p);

// Reads a VemModel file (VemModelError when missing, unparsable or of another version).
proto::VemModel read_model_file(const std::filesystem::path& path);
// Writes `msg` to `path` atomically: a temporary beside it, then a rename.
void write_model_file(const proto::VemModel& msg, const std::filesystem::path& path);

}  // namespace spikeem::io

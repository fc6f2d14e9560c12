#pragma once
// Checkpoints of `spikeem run`: the file DIR.checkpoint next to the output
// folder DIR holds how the run was asked for (spec, overrides, format) and
// the engine's whole state at one simulated time (Simulation::save_state), so
// that `spikeem resume DIR` continues the run as if it had never stopped.
//
// A checkpoint is read only by the spikeem version that wrote it (the engine
// state is that version's memory layout), and only for the spec it was
// written from: a spec whose hash changed since is refused by name.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace spikeem::io {

// A checkpoint that cannot be used (missing, damaged, from another version):
// the message names the file and why.  The command line exits 2 for it.
struct CheckpointRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// How a run was asked for: what a resumed run repeats.
struct RunSettings {
    std::string spec_path;  // as the command line gave it (run.json's spec)
    std::string spec_file;  // absolute, so that a resume from elsewhere reads the same file
    SpecOverrides overrides;
    double checkpoint_every_ms = 0.0;  // 0: a checkpoint only when interrupted
    OutputFormat format = OutputFormat::Csv;
};

struct Checkpoint {
    RunSettings run;
    std::string spec_hash;   // of the effective spec (LoadedSpec::hash)
    double end_ms = 0.0;     // the duration the run was going to
    std::uint32_t partitions = 1;
    double wall_time_s = 0.0;  // spent so far
    Tick tick = 0;             // simulated time reached
    std::string state;         // Simulation::save_state
};

// DIR.checkpoint, next to DIR.
std::filesystem::path checkpoint_path(const std::filesystem::path& out);

// Replaces `file` in one rename by a checkpoint of `sim` (written to a
// temporary next to it and synced first): a kill at any moment leaves the
// earlier checkpoint or the new one, never a mix.  Throws std::runtime_error
// with the OS's reason.
void write_checkpoint(const std::filesystem::path& file, const RunSettings& run, const LoadedSpec& spec,
                      const Simulation& sim, double wall_time_s);

// Throws CheckpointRefused for a missing, damaged or foreign checkpoint.
Checkpoint read_checkpoint(const std::filesystem::path& file);

}  // namespace spikeem::io

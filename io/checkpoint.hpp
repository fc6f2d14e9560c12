#pragma once
// Checkpoints of `spikeem run`: the folder DIR.checkpoint next to the output
// folder DIR holds, in its file `checkpoint`, how the run was asked for
// (spec, overrides, format) and the engine's whole state at one simulated
// time (Simulation::save_state), and beside it a copy of each output table as
// far as the run had written it then.  `spikeem resume DIR` continues the run
// from there as if it had never stopped.
//
// A checkpoint is read only by the spikeem version that wrote it (the engine
// state is that version's memory layout), and only for the spec it was
// written from: a spec whose hash changed since is refused by name.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/outputs.hpp"
#include "io/recording.hpp"
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

// An output table as a checkpoint holds it: its state then, and the name of
// its copy in the checkpoint's folder.
struct SavedTable {
    TableState state;
    std::string copy;
};

struct Checkpoint {
    RunSettings run;
    std::string spec_hash;   // of the effective spec (LoadedSpec::hash)
    double end_ms = 0.0;     // the duration the run was going to
    std::uint32_t partitions = 1;
    double wall_time_s = 0.0;  // spent so far
    Tick tick = 0;             // simulated time reached
    std::string state;         // Simulation::save_state
    std::vector<SavedTable> tables;
    // The tables to start a resumed run's RecordingWriter from.
    std::vector<TableSource> sources(const std::filesystem::path& folder) const;
};

// DIR.checkpoint, next to DIR.
std::filesystem::path checkpoint_path(const std::filesystem::path& out);

// Writes the checkpoints of one run into its folder.  Each write first brings
// the table copies up to what the run has written (appending what is new;
// a table whose npy header moved is copied anew under another name), syncs
// them, then replaces the file `checkpoint` in one rename and removes copies
// no longer named: a kill at any moment leaves the earlier checkpoint or the
// new one, whole.  Throws std::runtime_error with the OS's reason.
class Checkpointer {
public:
    // `known`: the copies the folder holds already (a resumed run's checkpoint).
    Checkpointer(std::filesystem::path folder, const RunSettings& run, const LoadedSpec& spec,
                 std::vector<SavedTable> known = {});
    void write(const Simulation& sim, RecordingWriter& tables, double wall_time_s);
    const std::filesystem::path& folder() const { return folder_; }

private:
    std::filesystem::path folder_;
    const RunSettings& run_;
    const LoadedSpec& spec_;
    std::vector<SavedTable> copies_;
};

// The checkpoint in `folder`; throws CheckpointRefused for a missing, damaged
// or foreign one.
Checkpoint read_checkpoint(const std::filesystem::path& folder);

}  // namespace spikeem::io

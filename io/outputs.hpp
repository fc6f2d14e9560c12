#pragma once
// Writing a run's outputs.  Every file is first written in full under a
// temporary name in the output folder and renamed into place only when all of
// them are complete, run.json last: an interrupted run leaves no truncated
// file under a final name, and run.json's presence marks a complete set.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace spikeem::io {

// A set of files that appear together or not at all.
class OutputSet {
public:
    explicit OutputSet(std::filesystem::path dir);
    ~OutputSet();  // removes temporaries that were not committed
    OutputSet(const OutputSet&) = delete;
    OutputSet& operator=(const OutputSet&) = delete;

    // Stream for `name` (a temporary until commit); files are renamed in the order added.
    std::ofstream& add(const std::string& name);
    // A file of an earlier run in the same folder that this set does not
    // write: removed at commit, so the folder never mixes two runs.
    void obsolete(const std::string& name) { obsolete_.push_back(dir_ / name); }
    // Flush, close and rename every file into place.  Throws on I/O failure.
    void commit();

private:
    struct Pending {
        std::filesystem::path tmp, final;
        std::ofstream out;
    };
    std::filesystem::path dir_;
    std::vector<std::unique_ptr<Pending>> files_;
    std::vector<std::filesystem::path> obsolete_;
    bool committed_ = false;
};

struct RunInfo {
    std::string spec_path;
    double wall_time_s = 0.0;
};

// spikes.csv (always, header only if nothing was recorded), voltages.csv (if
// probes exist), run.json.  All but run.json's wall_time_s are a pure function
// of the spec and seed.  Also rates.csv, if rate probes exist (removed otherwise).
void write_run_outputs(const std::filesystem::path& dir, const Simulation& sim, const LoadedSpec& spec,
                       const RunInfo& info);

std::string run_json(const Simulation& sim, const LoadedSpec& spec, const RunInfo& info);

std::string version();

}  // namespace spikeem::io

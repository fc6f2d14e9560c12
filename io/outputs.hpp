#pragma once
// Writing a run's outputs.  Every file is first written in full under a
// temporary name in the output folder and renamed into place only when all of
// them are complete, run.json last: an interrupted run leaves no truncated
// file under a final name, and run.json's presence marks a complete set.
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
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

// The format of a run's tables.  Csv: text, one row per line, times as exact
// decimals of ticks.  Npy: NumPy .npy (format version 1.0) files, one
// structured array per table whose fields are the CSV's columns (np.load gives
// it, no pickle): times t_ms float64, the double nearest the exact decimal
// time (the number the CSV's text parses to; exact ticks come back as
// round(t_ms * 10^digits) while below 2^53, resolution_ns in run.json); names
// as uint32 indices into run.json's populations and projections (spec order);
// a rate probe's readout as uint8 (0 count, 1 exp, 2 model); counts uint64;
// other integers uint32; values float64 (the CSV's numbers exactly).  Byte
// order: the machine's, stated in each header.
enum class OutputFormat { Csv, Npy };
const char* format_name(OutputFormat f);
// "csv" or "npy"; nullopt for anything else.
std::optional<OutputFormat> parse_output_format(const std::string& name);

struct RunInfo {
    std::string spec_path;
    double wall_time_s = 0.0;
    OutputFormat format = OutputFormat::Csv;
};

// The tables, as STEM.csv or STEM.npy (info.format), then run.json:
//   spikes            always (no rows if nothing was recorded): t_ms,population,neuron
//   voltages          voltage probes: t_ms,population,neuron,v_mV
//   rates             rate probes: t_ms,population,neuron,readout,rate_hz
//   weights           weight probes, then the final weight of every synapse of
//                     every plastic projection: t_ms,projection,pre,post,w
//   population_rates  population-rate probes, one row per whole bin:
//                     t_ms (bin start),probe (index in record.population_rate),population,spikes,rate_hz
// A table a run does not write is removed from the folder in both formats, as
// is the other format's file of one it writes.  All but run.json's
// wall_time_s are a pure function of the spec, seed and format.
void write_run_outputs(const std::filesystem::path& dir, const Simulation& sim, const LoadedSpec& spec,
                       const RunInfo& info);

std::string run_json(const Simulation& sim, const LoadedSpec& spec, const RunInfo& info);

std::string version();

}  // namespace spikeem::io

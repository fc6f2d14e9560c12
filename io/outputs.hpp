#pragma once
// Writing a run's outputs.
//
// Two ways to make a set of files appear together (OutputSet):
//  - replacing(DIR), for `spikeem run` and Simulation.write_outputs: the files
//    are written into a new sibling folder DIR.tmp-PID-RANDOM that then takes
//    DIR's place in one rename (an exchange with an existing DIR), so DIR is at
//    every instant wholly the earlier run or wholly the new one.  A lock file
//    .DIR.lock next to DIR refuses a second writer at once.
//  - OutputSet(DIR), for commands whose folder holds other files (em-train's
//    model, plots): each file is written under a hidden temporary name in DIR
//    and renamed into place, the last one added last (its presence marks a
//    complete set).
// Every write, fsync, close and rename is checked; failures name the path and
// the OS's reason.
#include <filesystem>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace spikeem::io {

// The output folder cannot be used (its parent is missing or not writable, it
// is a file, a folder of other files, or another process writes it): nothing
// was written.  The command line exits 2 for it.
struct OutputRefused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A new file written through a POSIX descriptor behind the std::ofstream that
// the table writers take (the ofstream's own filebuf stays closed: do not call
// its close() or is_open()).  A failed write is remembered with its errno and
// later writes are dropped; finish() reports it.
class OutputFile : public std::ofstream {
public:
    // Creates or truncates `path`; throws std::runtime_error with the reason.
    explicit OutputFile(std::filesystem::path path);
    ~OutputFile() override;  // closes without checks: only on error paths
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    // Writes what is buffered, fsyncs and closes; throws std::runtime_error
    // ("error writing PATH: No space left on device") on the first failure.
    void finish();
    const std::filesystem::path& path() const { return path_; }
    // Throws std::runtime_error ("error writing PATH: reason") if a write has
    // failed: a file written over a long run reports a full disk when it
    // happens, not at finish().
    void check() const;
    // After writing what is buffered: writes `bytes` at `offset` (a header
    // known only at the end), leaving later writes to append at the end.
    void write_at(std::uint64_t offset, std::string_view bytes);
    // After writing what is buffered: moves the bytes from offset `from` to
    // the end so that they start at `to` (the file grows or shrinks by
    // to - from; bytes before min(from, to) stay, the rest of the gap is left
    // for write_at).  Throws std::runtime_error naming the file.
    void move_tail(std::uint64_t from, std::uint64_t to);

private:
    class Buffer : public std::streambuf {
    public:
        explicit Buffer(int fd);
        int fd() const { return fd_; }
        void forget_fd() { fd_ = -1; }
        int error() const { return error_; }  // errno of the first failed write, or 0

    protected:
        int_type overflow(int_type c) override;
        int sync() override;
        std::streamsize xsputn(const char* s, std::streamsize n) override;

    private:
        bool drain();
        bool write_all(const char* p, std::size_t n);
        int fd_;
        int error_ = 0;
        std::vector<char> space_;
    };
    std::filesystem::path path_;
    Buffer buf_;
};

// fsync of a folder, so that the renames in it survive a crash; throws
// std::runtime_error with the OS's reason.
void sync_folder(const std::filesystem::path& dir);

// A set of files that appear together or not at all.
class OutputSet {
public:
    // Files renamed into place one by one inside `dir` (which must exist); other files stay.
    explicit OutputSet(std::filesystem::path dir);
    // DIR replaced as a whole at commit.  Before returning it checks what a run
    // would otherwise find only at the end, and throws OutputRefused: DIR's
    // parent (created if missing) must be a folder where files can be created, DIR
    // (symbolic links followed) must be missing, an empty folder or a spikeem
    // output folder (one with run.json), and no other process may hold the
    // lock .DIR.lock.  Then it removes the folders that dead runs left next to
    // DIR and creates the new one.  The lock is held until commit or destruction.
    static OutputSet replacing(const std::filesystem::path& dir);
    ~OutputSet();  // removes what was not committed and releases the lock
    OutputSet(const OutputSet&) = delete;
    OutputSet& operator=(const OutputSet&) = delete;

    // Stream for `name` (in the new folder, or a temporary until commit); files
    // are renamed in the order added.
    OutputFile& add(const std::string& name);
    // A file of an earlier run in the same folder that this set does not
    // write: removed at commit, so the folder never mixes two runs.  Nothing
    // to do when the whole folder is replaced.
    void obsolete(const std::string& name);
    // Finishes (flush, fsync, close) every file and puts the set in place;
    // throws std::runtime_error on any failure, leaving the earlier outputs as
    // they were (a replaced folder) and removing this set's files.
    void commit();
    // The folder the outputs end up in (for replacing(): absolute, links resolved).
    const std::filesystem::path& folder() const { return dir_; }
    // For tests: `hook(step)` runs before each step of commit ("finish",
    // "replace", "remove-old"); what it throws propagates like a failure there.
    void on_commit_step(std::function<void(std::string_view step)> hook) { hook_ = std::move(hook); }

private:
    struct Replacement;  // the new folder and the lock (outputs.cpp)
    OutputSet(std::filesystem::path dir, std::unique_ptr<Replacement> r);
    void commit_files();
    void commit_folder();
    void step(std::string_view name) const {
        if (hook_) hook_(name);
    }

    struct Pending {
        std::filesystem::path tmp, final;
        std::unique_ptr<OutputFile> out;
    };
    std::filesystem::path dir_;
    std::unique_ptr<Replacement> replacement_;  // null: files one by one
    std::vector<Pending> files_;
    std::vector<std::filesystem::path> obsolete_;
    std::function<void(std::string_view)> hook_;
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

// The tables, as STEM.csv or STEM.npy (info.format), then run.json, into
// `out` (see OutputSet), which is committed:
//   spikes            always (no rows if nothing was recorded): t_ms,population,neuron
//   voltages          voltage probes: t_ms,population,neuron,v_mV
//   rates             rate probes: t_ms,population,neuron,readout,rate_hz
//   weights           weight probes, then the final weight of every synapse of
//                     every plastic projection: t_ms,projection,pre,post,w
//   population_rates  population-rate probes, one row per whole bin:
//                     t_ms (bin start),probe (index in record.population_rate),population,spikes,rate_hz
// A table a run does not write is absent from the folder in both formats, as
// is the other format's file of one it writes.  All but run.json's
// wall_time_s are a pure function of the spec, seed and format.
void write_run_outputs(OutputSet& out, const Simulation& sim, const LoadedSpec& spec, const RunInfo& info);
// The end of a run whose tables were streamed into `out` by `tables` (a
// RecordingWriter, recording.hpp, that was given every row): completes the
// tables, adds run.json and commits.  The files are those write_run_outputs
// writes.
class RecordingWriter;
void finish_run_outputs(OutputSet& out, RecordingWriter& tables, const Simulation& sim, const LoadedSpec& spec,
                        const RunInfo& info);
// The same into OutputSet::replacing(dir): dir is replaced as a whole.
void write_run_outputs(const std::filesystem::path& dir, const Simulation& sim, const LoadedSpec& spec,
                       const RunInfo& info);

std::string run_json(const Simulation& sim, const LoadedSpec& spec, const RunInfo& info);
// The threads that run `sim`'s partitions under the TBB limit in force (at
// most one per partition): run.json's and bench's "threads".
std::size_t threads_running(const Simulation& sim);

std::string version();

}  // namespace spikeem::io

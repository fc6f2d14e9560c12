#pragma once
// A run's tables (spikes, voltages, rates, weights, population_rates) written
// into an OutputSet as rows arrive, so that a run of any length holds only
// the rows of one piece in memory.
//
// Rows come in output order (Simulation::drain_recorded gives them so; the
// in-memory accessors of a Simulation that was never drained hold them so),
// each batch after the previous one; the files are the same bytes whether
// the rows come in one batch or many.  CSV rows are appended as text.  An npy
// file starts with a header whose row count is known only at the end: the
// writer reserves the header for the rows expected (the header's length only
// changes at a few row counts), appends the rows after it, and rewrites the
// header in place when the count is known; a header that outgrows its room
// moves the rows once (spikes past 10^7 rows).
//
// flush() says how many bytes and rows of each file are written; a writer
// built from copies of those bytes (a checkpoint's, io/checkpoint.hpp) goes on
// appending where they end (the npy headers are rewritten at finish in any case).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/outputs.hpp"
#include "network/simulation.hpp"

namespace spikeem::io {

// One table file as it stands after RecordingWriter::flush().
struct TableState {
    std::string file;          // e.g. "voltages.npy", in the OutputSet's folder
    std::filesystem::path path;  // where it is being written
    std::uint64_t bytes = 0;   // its size: header (npy: as reserved) and every row appended
    std::uint64_t rows = 0;    // rows appended
    std::uint64_t header_bytes = 0;  // CSV: the column line; npy: the header's room
};

// A table to go on with: what a flush() said of it, and a file whose first
// state.bytes bytes are what it had written then.
struct TableSource {
    TableState state;
    std::filesystem::path copy;
};

class RecordingWriter {
public:
    // Adds the tables a run of `spec` writes to `out` (the other tables'
    // files of an earlier run become obsolete there), in the order
    // write_run_outputs adds them, and writes their headers.  `sim` supplies
    // names, the time base and the expected row counts; it must outlive the writer.
    RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format);
    // The same tables, each starting as the first bytes of its source (a
    // resumed run): rows appended from here follow those.  Throws
    // std::runtime_error when a source is missing, short, or not a table this run writes.
    RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format,
                    const std::vector<TableSource>& from);
    ~RecordingWriter();
    RecordingWriter(const RecordingWriter&) = delete;
    RecordingWriter& operator=(const RecordingWriter&) = delete;

    // Rows that follow every row appended before, table by table.
    void append(const RecordedRows& rows);
    void spikes(std::span<const SpikeRecord> rows);
    void voltages(std::span<const VoltageSample> rows);
    void rates(std::span<const RateSample> rows);
    void weights(std::span<const WeightSample> rows);  // probe samples
    void population_rates(std::span<const PopulationRateSample> rows);

    // Every row appended so far handed to the files (not synced); their states.
    std::vector<TableState> flush();
    // Appends the final weight of every synapse of every plastic projection to
    // the weights table and completes the npy headers.  The files stay in the
    // OutputSet, which the caller commits (after run.json).
    void finish();

    class Table;  // one file (recording.cpp)

private:
    RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format,
                    const std::vector<TableSource>* from);
    const Simulation& sim_;
    OutputFormat format_;
    std::unique_ptr<Table> spikes_, voltages_, rates_, weights_, population_rates_;  // null: not written
};

// Runs sim from now() to its duration in pieces, handing the rows of each
// piece (Simulation::drain_recorded) to `sink` and then calling `after_piece`
// (progress).  Pieces aim at 0.05 to 0.2 s of wall time (they change no
// result) and are short enough for their rows to stay within `bound_bytes`
// (RecordedRows::bytes): samples are known before a piece (which is at least
// one tick), spikes are counted after it and shorten the pieces that follow.
// Before each piece, `go_on()` false stops the run (a signal): returns
// whether the run reached its end.  No piece crosses a multiple of
// `align_ticks` (0: any), so that after_piece sees each multiple (checkpoints).
// Population-rate bins that end past the run's end stay in the recorders (a
// resumed run may go further): take them with sim.drain_recorded(end) once
// the run is over.
bool run_in_pieces(Simulation& sim, const std::function<void(const RecordedRows&)>& sink,
                   const std::function<bool()>& go_on, const std::function<void()>& after_piece,
                   std::size_t bound_bytes = kStreamedRowsBytes, Tick align_ticks = 0);

}  // namespace spikeem::io

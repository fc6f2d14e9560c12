#pragma once
// What a spec will need in memory, estimated from the spec alone, before
// anything is allocated: so that a spec asking for more than the machine has
// is refused with the part responsible instead of dying in std::bad_alloc
// after validation passed.
//
// The bytes per neuron, per synapse and per recorded sample are measured
// peaks (maximum resident set of `spikeem run`, which also formats the
// outputs), with the machine-independent structures in mind: they are
// calibrations, not bounds, and good to a factor of about 1.5 (tests/
// test_estimate.cpp checks them against measured peaks of specs unlike the
// calibration ones).  Recorded spikes are not counted: how many there will be
// depends on the dynamics (about 40 bytes each in memory when kept; streamed,
// they share the bounded buffer).
#include <cstdint>
#include <string>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

struct MemoryEstimate {
    struct Part {
        std::string what;  // e.g. "population \"E\" (4000 lif_exp neurons)"
        double bytes;
    };
    double bytes = 0.0;       // the total, with the program's own baseline
    std::vector<Part> parts;  // largest first
};

// Where recorded samples go.  InMemory: kept until the run ends (the Python
// module, experiment drivers).  Streamed: written to files as the run goes
// (`spikeem run`), so that only a bounded buffer of them is held
// (kStreamedRowsBytes, recorders.hpp) besides one sample time of each probe.
enum class Recording { InMemory, Streamed };

MemoryEstimate estimate_memory(const NetworkSpec& spec, Recording recording = Recording::InMemory);

// What a run's tables will take on disk: rows x bytes per row of each probe
// (CSV rows sized for their widest values), the final weights of plastic
// projections, run.json.  Recorded spikes are not counted (their number
// depends on the dynamics: 16 bytes each in npy, about 20 in CSV).
struct DiskEstimate {
    struct Part {
        std::string what;  // e.g. "record.voltages[0] (2e+08 rows)"
        double bytes;
    };
    double bytes = 0.0;
    std::vector<Part> parts;  // largest first
};
DiskEstimate estimate_disk(const NetworkSpec& spec, bool npy);

// The machine's physical memory in bytes (0 if unknown).
double physical_memory_bytes();

// "1.2 GB" and the like (powers of 1000), for messages.
std::string format_bytes(double bytes);

}  // namespace spikeem

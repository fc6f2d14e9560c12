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
// depends on the dynamics (about 40 bytes each in memory).
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

MemoryEstimate estimate_memory(const NetworkSpec& spec);

// The machine's physical memory in bytes (0 if unknown).
double physical_memory_bytes();

// "1.2 GB" and the like (powers of 1000), for messages.
std::string format_bytes(double bytes);

}  // namespace spikeem

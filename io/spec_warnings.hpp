#pragma once
// Valid specs that are probably not what their author meant: the mistakes a
// Brian2 or NEST user makes on day one (seconds where spikeem wants ms, a run
// that writes no spikes).  They are warnings, not errors: each may be meant.
#include <string>
#include <vector>

#include "network/spec.hpp"

namespace spikeem::io {

// The smallest time constant that is not a warning: below it the value was
// probably given in seconds (Brian2's 20*ms is 0.02).
inline constexpr double kMinPlausibleTauMs = 0.1;
// The largest per-neuron Poisson rate that is not a warning: above it the
// value was probably a sum over many sources, or in the wrong unit.
inline constexpr double kMaxPlausibleRateHz = 10000.0;

// One line per suspicious thing in `spec`, in spec order (each without a
// prefix; the caller adds "warning: FILE: "):
//  - nothing is recorded (no record.spikes, spike_probe, voltage, rate, weights
//    or population_rate, and no plastic projection, whose final weights are
//    written) and the spec has no objective (which other commands read);
//  - a time constant tau_*_ms of a neuron model or plasticity rule in
//    (0, kMinPlausibleTauMs);
//  - a Poisson rate (a poisson population's rate_hz or rates_hz, a poisson_input's
//    rate_hz) above kMaxPlausibleRateHz.
std::vector<std::string> spec_warnings(const NetworkSpec& spec);

}  // namespace spikeem::io

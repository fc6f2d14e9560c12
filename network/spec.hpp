#pragma once
// Plain domain description of a network: what io/ produces from a protobuf
// spec after validation, and what Simulation builds from.  No protobuf here.
// Contract: a NetworkSpec handed to Simulation has passed io's validation
// (names resolve, sizes and ranges are consistent, values are in range).
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace spikeem {

struct UniformDist {
    double low = 0.0, high = 0.0;  // [low, high)
};
// Normal, clipped to [low, high] (not redrawn): no loop, no surprise tail.
struct NormalDist {
    double mean = 0.0, std = 0.0;
    double low = -std::numeric_limits<double>::infinity();
    double high = std::numeric_limits<double>::infinity();
};
using Distribution = std::variant<double, UniformDist, NormalDist>;

struct LifDeltaParams {
    double tau_m_ms = 10.0;
    double v_rest_mV = -70.0;
    double v_reset_mV = -70.0;
    double v_th_mV = -55.0;
    double t_ref_ms = 2.0;
    Distribution v_init_mV = -70.0;
};

struct PoissonParams {
    double rate_hz = 0.0;
    double start_ms = 0.0;
    double stop_ms = std::numeric_limits<double>::infinity();  // exclusive
};

struct SpikeTimesParams {
    std::vector<std::vector<double>> times_ms;  // per neuron; any order
};

struct PopulationSpec {
    std::string name;
    std::uint32_t size = 0;
    std::variant<LifDeltaParams, PoissonParams, SpikeTimesParams> model;
};

struct NeuronRange {
    std::uint32_t begin = 0, end = 0;  // [begin, end)
};

struct AllToAll {};
struct OneToOne {};
struct FixedProbability {
    double p = 0.0;
};
struct FixedIndegree {
    std::uint32_t indegree = 0;  // distinct sources per target
};
struct ExplicitPair {
    std::uint32_t pre = 0, post = 0;  // indices within the (sub)populations
    std::optional<double> weight_mV;
    std::optional<double> delay_ms;
};
struct ExplicitPairs {
    std::vector<ExplicitPair> pairs;
};
using Connectivity = std::variant<AllToAll, OneToOne, FixedProbability, FixedIndegree, ExplicitPairs>;

struct ProjectionSpec {
    std::string name;  // unique; defaults to "source->target"
    std::string source, target;
    std::optional<NeuronRange> source_range, target_range;
    Connectivity connectivity = AllToAll{};
    Distribution weight_mV = 0.0;
    Distribution delay_ms = 1.0;  // axonal delay
    bool allow_autapses = false;  // only meaningful when source == target
};

struct VoltageProbeSpec {
    std::string population;
    std::vector<std::uint32_t> neurons;  // empty = all
    double interval_ms = 1.0;
};

struct RecordSpec {
    std::vector<std::string> spike_populations;
    std::vector<VoltageProbeSpec> voltages;
};

struct RunSpec {
    double duration_ms = 1000.0;
    std::uint64_t seed = 1;
    int time_digits = 6;  // 1 tick = 10^-time_digits ms (6: 1 ns)
};

struct NetworkSpec {
    std::string name;
    RunSpec run;
    std::vector<PopulationSpec> populations;
    std::vector<ProjectionSpec> projections;
    RecordSpec record;
};

}  // namespace spikeem

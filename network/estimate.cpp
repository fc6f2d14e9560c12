#include "network/estimate.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "network/models/registry.hpp"
#include "network/recorders.hpp"

namespace spikeem {

namespace {

// Measured on x86-64 (Debian 12, GCC 12, Release) with one million neurons of
// each model and nothing else: peak resident set less the empty program's,
// per neuron, rounded up.
double bytes_per_neuron(const PopulationModel& m) {
    return std::visit(
        [](const auto& p) -> double {
            using P = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<P, LifDeltaParams>) return 72;
            else if constexpr (std::is_same_v<P, LifExpParams>) return 104;
            else if constexpr (std::is_same_v<P, LifCondExpParams>) return 270;
            else if constexpr (std::is_same_v<P, AdExParams>) return 240;
            else if constexpr (std::is_same_v<P, StochasticParams>) return 216;
            else if constexpr (std::is_same_v<P, PoissonParams>) return 184;
            else return 72;  // spike_times, without trains; its times are counted below
        },
        m);
}

// Projections: a static synapse keeps about 10 bytes (target, weight, its share
// of the delay groups); building a projection needs about 26 more per synapse
// for a while (the unsorted list and the sort's buffer), one projection at a
// time.  A plastic synapse costs about 56 bytes in all: its rule's state, and
// its row of the final weights table written at the end, one projection at a
// time (when no projection is being built, so the larger of the two counts).
// Measured with 4 and 12 million synapses in one to three projections, and
// 4 million plastic ones.
constexpr double kBaselineBytes = 10e6;       // the program with an empty network
constexpr double kStaticSynapseBytes = 10;
constexpr double kBuildSynapseBytes = 26;
constexpr double kPlasticSynapseBytes = 56;
constexpr double kPoissonInputBytes = 232;    // per target neuron (estimate_memory says why)
// One voltage, rate or weight sample, kept and written: a row of 32 bytes.  (A
// voltage sample is held as its 8-byte value; reading the rows builds them.)
constexpr double kSampleBytes = 32;
constexpr double kWriterBytes = 6e6;          // a streaming writer's buffers: a megabyte per table

std::uint32_t range_size(const std::optional<NeuronRange>& r, std::uint32_t size) {
    return r ? r->end - r->begin : size;
}

// Samples of a probe every interval_ms over the run (or its window).
double samples(double neurons, double interval_ms, const RecordWindow& w, double duration_ms) {
    const double span = std::max(0.0, std::min(w.stop_ms, duration_ms) - w.start_ms);
    return neurons * std::floor(span / interval_ms + 1.0);
}

// The synapses projection q will have (for a random connectivity, at most, but for a chance of 0.1%).
double synapses_of(const NetworkSpec& spec, const ProjectionSpec& q) {
    double ns = 0.0, nt = 0.0;
    for (const auto& p : spec.populations) {
        if (p.name == q.source) ns = range_size(q.source_range, p.size);
        if (p.name == q.target) nt = range_size(q.target_range, p.size);
    }
    return std::visit(
        [&](const auto& c) -> double {
            using C = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<C, AllToAll>) return ns * nt;
            else if constexpr (std::is_same_v<C, OneToOne>) return std::min(ns, nt);
            else if constexpr (std::is_same_v<C, FixedProbability>)  // the mean and 3 standard deviations
                return c.p * ns * nt + 3.0 * std::sqrt(c.p * (1.0 - c.p) * ns * nt);
            else if constexpr (std::is_same_v<C, FixedIndegree>) return static_cast<double>(c.indegree) * nt;
            else return static_cast<double>(c.pairs.size());
        },
        q.connectivity);
}

// The rows each probe of a spec records over the run: its name in the spec,
// rows at one sample time, rows in all.
struct ProbeRows {
    std::string what;
    double per_time, rows;
    std::size_t name_chars;  // of the population or projection named in its rows
    enum Table { Voltage, Rate, Weight, PopulationRate } table;
};

std::vector<ProbeRows> probe_rows(const NetworkSpec& spec) {
    auto size_of = [&](const std::string& name) -> std::uint32_t {
        for (const auto& p : spec.populations)
            if (p.name == name) return p.size;
        return 0;
    };
    const double duration_ms = spec.run.duration_ms;
    const auto& r = spec.record;
    std::vector<ProbeRows> out;
    for (std::size_t k = 0; k < r.voltages.size(); ++k) {
        const auto& v = r.voltages[k];
        const double n = v.neurons.empty() ? size_of(v.population) : static_cast<double>(v.neurons.size());
        out.push_back({fmt::format("record.voltage[{}]", k), n,
                       samples(n, v.interval_ms, window_of(r.voltage_windows, k), duration_ms), v.population.size(),
                       ProbeRows::Voltage});
    }
    for (std::size_t k = 0; k < r.rates.size(); ++k) {
        const auto& v = r.rates[k];
        const double n = v.neurons.empty() ? size_of(v.population) : static_cast<double>(v.neurons.size());
        out.push_back({fmt::format("record.rate[{}]", k), n,
                       samples(n, v.interval_ms, window_of(r.rate_windows, k), duration_ms), v.population.size(),
                       ProbeRows::Rate});
    }
    for (std::size_t k = 0; k < r.weights.size(); ++k) {
        const auto& w = r.weights[k];
        double n = static_cast<double>(w.pairs.size());
        if (w.pairs.empty())  // every synapse of the projection
            for (const auto& q : spec.projections)
                if (q.name == w.projection) n = synapses_of(spec, q);
        out.push_back({fmt::format("record.weight[{}]", k), n,
                       samples(n, w.interval_ms, window_of(r.weight_windows, k), duration_ms), w.projection.size(),
                       ProbeRows::Weight});
    }
    for (std::size_t k = 0; k < r.population_rates.size(); ++k) {
        const auto& pr = r.population_rates[k];
        out.push_back({fmt::format("record.population_rate[{}]", k), 1.0,
                       samples(1.0, pr.bin_ms, pr.window, duration_ms), pr.population.size(),
                       ProbeRows::PopulationRate});
    }
    return out;
}

}  // namespace

MemoryEstimate estimate_memory(const NetworkSpec& spec, Recording recording) {
    MemoryEstimate e;
    auto add = [&](std::string what, double bytes) { e.parts.push_back({std::move(what), bytes}); };
    for (const auto& p : spec.populations) {
        double b = bytes_per_neuron(p.model) * p.size;
        if (const auto* st = std::get_if<SpikeTimesParams>(&p.model))
            // Each time is held twice: in the spec (ms) and in the population (ticks).
            for (const auto& train : st->times_ms) b += 16.0 * static_cast<double>(train.size());
        add(fmt::format("population \"{}\" ({} {} neurons)", p.name, p.size, model_name(p.model)), b);
    }
    // A Poisson input keeps per target neuron its random stream (96 B) and next
    // arrival (8 B), and its partition a batch of about 4 arrivals per neuron
    // (16 B each) and the batch's sorting buffer: 232 B.
    for (const auto& in : spec.poisson_inputs) {
        double targets = 0.0;
        for (const auto& p : spec.populations)
            if (p.name == in.target) targets = in.target_range ? in.target_range->end - in.target_range->begin : p.size;
        add(fmt::format("poisson_input \"{}\" ({:.3g} target neurons)", in.name, targets), kPoissonInputBytes * targets);
    }
    double largest = 0.0, plastic = 0.0;  // synapses of the largest projection; plastic bytes in all
    std::string largest_name;
    for (const auto& q : spec.projections) {
        const double n = synapses_of(spec, q);
        if (n > largest) largest = n, largest_name = q.name;
        if (q.plasticity) plastic += kPlasticSynapseBytes * n;
        else add(fmt::format("projection \"{}\" (about {:.3g} synapses)", q.name, n), kStaticSynapseBytes * n);
    }
    // The larger of building the largest projection and the plastic synapses' state and table.
    if (kBuildSynapseBytes * largest >= plastic && largest > 0.0)
        add(fmt::format("building projection \"{}\" (about {:.3g} synapses)", largest_name, largest),
            kBuildSynapseBytes * largest);
    else if (plastic > 0.0)
        add(fmt::format("the plastic projections ({:.3g} synapses in all)", plastic / kPlasticSynapseBytes), plastic);
    // Streamed, the samples held are one sample time of each probe and a
    // bounded buffer of rows (its own part; the run loop drains the recorders
    // before they pass the bound, and the writer formats a megabyte per table).
    double streamed = 0.0;
    for (const ProbeRows& p : probe_rows(spec)) {
        const double rows = recording == Recording::Streamed ? std::min(p.rows, p.per_time) : p.rows;
        if (recording == Recording::Streamed) streamed += kSampleBytes * (p.rows - rows);
        const char* unit = p.table == ProbeRows::PopulationRate ? "bins" : "samples";
        add(fmt::format("{} ({:.3g} {}{})", p.what, p.rows, unit, recording == Recording::Streamed ? ", streamed" : ""),
            kSampleBytes * rows);
    }
    if (streamed > 0.0)
        add("the buffer of streamed samples", std::min(streamed, 2.0 * kStreamedRowsBytes + kWriterBytes));
    std::sort(e.parts.begin(), e.parts.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    e.bytes = kBaselineBytes;
    for (const auto& p : e.parts) e.bytes += p.bytes;
    return e;
}

DiskEstimate estimate_disk(const NetworkSpec& spec, bool npy) {
    // CSV cells at their widest: a time (the run's whole ms, a point, the
    // resolution's decimals), an index (10 digits), a count (20), a real in
    // its shortest exact form (24: "-2.2250738585072014e-308").
    const double time_chars = fmt::format("{:.0f}", std::floor(spec.run.duration_ms)).size() +
                              (spec.run.time_digits > 0 ? 1.0 + spec.run.time_digits : 0.0);
    constexpr double kIndex = 10, kCount = 20, kReal = 24;
    auto row_bytes = [&](ProbeRows::Table t, double name) -> double {
        switch (t) {  // npy: the packed fields; CSV: the cells, their commas and the newline
            case ProbeRows::Voltage: return npy ? 24 : time_chars + name + kIndex + kReal + 4;
            case ProbeRows::Rate: return npy ? 25 : time_chars + name + kIndex + 5 + kReal + 5;
            case ProbeRows::Weight: return npy ? 28 : time_chars + name + 2 * kIndex + kReal + 5;
            case ProbeRows::PopulationRate: return npy ? 32 : time_chars + kIndex + name + kCount + kReal + 5;
        }
        return 0.0;
    };
    DiskEstimate e;
    for (const ProbeRows& p : probe_rows(spec))
        e.parts.push_back({fmt::format("{} ({:.3g} rows)", p.what, p.rows),
                           p.rows * row_bytes(p.table, static_cast<double>(p.name_chars))});
    double plastic = 0.0, chars = 0.0;  // synapses of plastic projections; their names' characters, weighted
    for (const auto& q : spec.projections) {
        if (!q.plasticity) continue;
        const double n = synapses_of(spec, q);  // rows of its final weights
        plastic += n;
        chars += n * static_cast<double>(q.name.size());
    }
    if (plastic > 0.0)
        e.parts.push_back({fmt::format("the final weights of the plastic projections ({:.3g} rows)", plastic),
                           npy ? 28 * plastic : plastic * row_bytes(ProbeRows::Weight, 0.0) + chars});
    std::sort(e.parts.begin(), e.parts.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    e.bytes = 64e3;  // headers and run.json
    for (const auto& p : e.parts) e.bytes += p.bytes;
    return e;
}

double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string format_bytes(double bytes) {
    if (bytes >= 1e12) return fmt::format("{:.3g} TB", bytes / 1e12);
    if (bytes >= 1e9) return fmt::format("{:.3g} GB", bytes / 1e9);
    if (bytes >= 1e6) return fmt::format("{:.3g} MB", bytes / 1e6);
    return fmt::format("{:.3g} kB", bytes / 1e3);
}

}  // namespace spikeem

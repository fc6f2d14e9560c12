#include "network/estimate.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "network/models/registry.hpp"

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
// time.  A plastic synapse costs about 94 bytes in all: its rule's state, and
// the final weights table written at the end (when no projection is being
// built, so the larger of the two counts).  Measured with 4 and 12 million
// synapses in one to three projections.
constexpr double kBaselineBytes = 10e6;       // the program with an empty network
constexpr double kStaticSynapseBytes = 10;
constexpr double kBuildSynapseBytes = 26;
constexpr double kPlasticSynapseBytes = 94;
constexpr double kSampleBytes = 32;           // one voltage, rate or weight sample, kept and written

std::uint32_t range_size(const std::optional<NeuronRange>& r, std::uint32_t size) {
    return r ? r->end - r->begin : size;
}

// Samples of a probe every interval_ms over the run (or its window).
double samples(double neurons, double interval_ms, const RecordWindow& w, double duration_ms) {
    const double span = std::max(0.0, std::min(w.stop_ms, duration_ms) - w.start_ms);
    return neurons * std::floor(span / interval_ms + 1.0);
}

}  // namespace

MemoryEstimate estimate_memory(const NetworkSpec& spec) {
    MemoryEstimate e;
    auto add = [&](std::string what, double bytes) { e.parts.push_back({std::move(what), bytes}); };
    auto size_of = [&](const std::string& name) -> std::uint32_t {
        for (const auto& p : spec.populations)
            if (p.name == name) return p.size;
        return 0;
    };
    for (const auto& p : spec.populations) {
        double b = bytes_per_neuron(p.model) * p.size;
        if (const auto* st = std::get_if<SpikeTimesParams>(&p.model))
            // Each time is held twice: in the spec (ms) and in the population (ticks).
            for (const auto& train : st->times_ms) b += 16.0 * static_cast<double>(train.size());
        add(fmt::format("population \"{}\" ({} {} neurons)", p.name, p.size, model_name(p.model)), b);
    }
    const double duration_ms = spec.run.duration_ms;
    double largest = 0.0, plastic = 0.0;  // synapses of the largest projection; plastic bytes in all
    std::string largest_name;
    for (const auto& q : spec.projections) {
        const double ns = range_size(q.source_range, size_of(q.source));
        const double nt = range_size(q.target_range, size_of(q.target));
        const double n = std::visit(
            [&](const auto& c) -> double {
                using C = std::decay_t<decltype(c)>;
                if constexpr (std::is_same_v<C, AllToAll>) return ns * nt;
                else if constexpr (std::is_same_v<C, OneToOne>) return std::min(ns, nt);
                else if constexpr (std::is_same_v<C, FixedProbability>) return c.p * ns * nt;
                else if constexpr (std::is_same_v<C, FixedIndegree>) return static_cast<double>(c.indegree) * nt;
                else return static_cast<double>(c.pairs.size());
            },
            q.connectivity);
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
    const auto& r = spec.record;
    for (std::size_t k = 0; k < r.voltages.size(); ++k) {
        const auto& v = r.voltages[k];
        const double n = v.neurons.empty() ? size_of(v.population) : static_cast<double>(v.neurons.size());
        const double s = samples(n, v.interval_ms, window_of(r.voltage_windows, k), duration_ms);
        add(fmt::format("record.voltage[{}] ({:.3g} samples)", k, s), kSampleBytes * s);
    }
    for (std::size_t k = 0; k < r.rates.size(); ++k) {
        const auto& v = r.rates[k];
        const double n = v.neurons.empty() ? size_of(v.population) : static_cast<double>(v.neurons.size());
        const double s = samples(n, v.interval_ms, window_of(r.rate_windows, k), duration_ms);
        add(fmt::format("record.rate[{}] ({:.3g} samples)", k, s), kSampleBytes * s);
    }
    for (std::size_t k = 0; k < r.weights.size(); ++k) {
        const auto& w = r.weights[k];
        double n = static_cast<double>(w.pairs.size());
        if (w.pairs.empty())
            for (const auto& q : spec.projections)
                if (q.name == w.projection) {
                    const double ns = range_size(q.source_range, size_of(q.source));
                    const double nt = range_size(q.target_range, size_of(q.target));
                    n = ns * nt;  // at most: every pair
                }
        const double s = samples(n, w.interval_ms, window_of(r.weight_windows, k), duration_ms);
        add(fmt::format("record.weight[{}] ({:.3g} samples)", k, s), kSampleBytes * s);
    }
    for (std::size_t k = 0; k < r.population_rates.size(); ++k) {
        const auto& pr = r.population_rates[k];
        const double bins = samples(1.0, pr.bin_ms, pr.window, duration_ms);
        add(fmt::format("record.population_rate[{}] ({:.3g} bins)", k, bins), kSampleBytes * bins);
    }
    std::sort(e.parts.begin(), e.parts.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    e.bytes = kBaselineBytes;
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

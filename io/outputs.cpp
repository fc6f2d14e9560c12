#include "io/outputs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <stdexcept>
#include <system_error>

#ifndef SPIKEEM_VERSION
#define SPIKEEM_VERSION "unknown"
#endif

namespace spikeem::io {

namespace fs = std::filesystem;

std::string version() { return SPIKEEM_VERSION; }

OutputSet::OutputSet(fs::path dir) : dir_(std::move(dir)) {}

OutputSet::~OutputSet() {
    if (committed_) return;
    for (auto& f : files_) {
        f->out.close();
        std::error_code ec;
        fs::remove(f->tmp, ec);
    }
}

std::ofstream& OutputSet::add(const std::string& name) {
    auto p = std::make_unique<Pending>();
    p->final = dir_ / name;
    p->tmp = dir_ / fmt::format(".{}.tmp-{}", name, ::getpid());
    p->out.open(p->tmp, std::ios::binary | std::ios::trunc);
    if (!p->out) throw std::runtime_error(fmt::format("cannot write {}: {}", p->tmp.string(), std::strerror(errno)));
    files_.push_back(std::move(p));
    return files_.back()->out;
}

void OutputSet::commit() {
    for (auto& f : files_) {
        f->out.flush();
        if (!f->out) throw std::runtime_error(fmt::format("error writing {}", f->tmp.string()));
        f->out.close();
    }
    // The last file marks a complete set: take the old one away first so that
    // no moment shows an old marker beside new files.
    if (!files_.empty()) fs::remove(files_.back()->final);
    for (const auto& f : obsolete_) fs::remove(f);
    for (auto& f : files_) fs::rename(f->tmp, f->final);
    committed_ = true;
}

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// Rows are formatted into a buffer written out every megabyte.
class CsvWriter {
public:
    CsvWriter(std::ofstream& out, const char* header) : out_(out) { out_ << header; }
    ~CsvWriter() { flush(); }
    template <class... Args>
    void row(fmt::format_string<Args...> f, Args&&... args) {
        fmt::format_to(std::back_inserter(buf_), f, std::forward<Args>(args)...);
        if (buf_.size() > (1u << 20)) flush();
    }

private:
    void flush() {
        out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        buf_.clear();
    }
    std::ofstream& out_;
    fmt::memory_buffer buf_;
};


std::string json_number(double x) { return std::isfinite(x) ? fmt::format("{}", x) : "null"; }

// The rule and its variant, e.g. "pair_stdp/nearest_symmetric" or "voltage_slope/forward".
std::string plasticity_name(const std::optional<PlasticitySpec>& p) {
    if (!p) return "none";
    struct Name {
        std::string operator()(const PairStdpParams& r) const {
            static constexpr const char* pairing[] = {"all_to_all", "nearest_symmetric", "nearest_presynaptic_centred"};
            return std::string("pair_stdp/") + pairing[static_cast<int>(r.pairing)];
        }
        std::string operator()(const TripletStdpParams& r) const {
            return r.nearest_spike ? "triplet_stdp/nearest_spike" : "triplet_stdp/all_to_all";
        }
        std::string operator()(const VoltageSlopeParams& r) const {
            static constexpr const char* estimate[] = {"forward", "central", "analytic"};
            return std::string("voltage_slope/") + estimate[static_cast<int>(r.estimate)];
        }
        std::string operator()(const RateSlopeParams&) const { return "rate_slope"; }
    };
    return std::visit(Name{}, p->rule);
}

}  // namespace

std::string run_json(const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    const TimeBase& tb = sim.time();
    std::string j = "{\n";
    j += fmt::format("  \"spikeem_version\": {},\n", json_string(version()));
    j += fmt::format("  \"spec\": {},\n", json_string(info.spec_path));
    j += fmt::format("  \"spec_name\": {},\n", json_string(spec.spec.name));
    j += fmt::format("  \"spec_hash\": {},\n", json_string(spec.hash));
    j += fmt::format("  \"seed\": {},\n", spec.spec.run.seed);
    j += fmt::format("  \"resolution_ns\": {},\n", json_number(tb.resolution_ns()));
    j += fmt::format("  \"duration_ms\": {},\n", tb.format_ms(sim.now()));
    j += "  \"populations\": [\n";
    for (std::size_t p = 0; p < sim.num_populations(); ++p) {
        PopulationSummary s = sim.summary(p);
        j += fmt::format(
            "    {{\"name\": {}, \"model\": {}, \"neurons\": {}, \"spikes\": {}, \"mean_rate_hz\": {}, "
            "\"mean_cv_isi\": {}, \"neurons_with_cv\": {}}}{}\n",
            json_string(s.name), json_string(s.model), s.neurons, s.spikes, json_number(s.mean_rate_hz),
            s.has_cv ? json_number(s.mean_cv_isi) : "null", s.neurons_with_cv,
            p + 1 < sim.num_populations() ? "," : "");
    }
    j += "  ],\n  \"projections\": [\n";
    std::size_t total_syn = 0;
    for (std::size_t k = 0; k < sim.num_projections(); ++k) {
        const Projection& pj = sim.projection(k);
        total_syn += pj.num_synapses();
        j += fmt::format("    {{\"name\": {}, \"source\": {}, \"target\": {}, \"synapses\": {}, \"plasticity\": {}}}{}\n",
                         json_string(pj.name()), json_string(sim.population(pj.source_population()).name()),
                         json_string(sim.population(pj.target_population()).name()), pj.num_synapses(),
                         json_string(plasticity_name(spec.spec.projections.at(k).plasticity)),
                         k + 1 < sim.num_projections() ? "," : "");
    }
    j += "  ],\n";
    j += fmt::format("  \"synapses\": {},\n", total_syn);
    j += fmt::format("  \"events_processed\": {},\n", sim.events_processed());
    j += fmt::format("  \"synaptic_events\": {},\n", sim.synaptic_events());
    j += fmt::format("  \"wall_time_s\": {}\n", json_number(info.wall_time_s));
    j += "}\n";
    return j;
}

void write_run_outputs(const fs::path& dir, const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    fs::create_directories(dir);
    OutputSet out(dir);
    const TimeBase& tb = sim.time();

    {
        CsvWriter csv(out.add("spikes.csv"), "t_ms,population,neuron\n");
        for (const SpikeRecord& s : sim.sorted_spikes())
            csv.row("{},{},{}\n", tb.format_ms(s.t), sim.population(s.population).name(), s.neuron);
    }

    if (spec.spec.record.voltages.empty()) {
        out.obsolete("voltages.csv");
    } else {
        CsvWriter csv(out.add("voltages.csv"), "t_ms,population,neuron,v_mV\n");
        for (const VoltageSample& v : sim.voltages())
            csv.row("{},{},{},{}\n", tb.format_ms(v.t), sim.population(v.population).name(), v.neuron, v.v_mV);
    }

    if (spec.spec.record.rates.empty()) {
        out.obsolete("rates.csv");
    } else {
        CsvWriter csv(out.add("rates.csv"), "t_ms,population,neuron,readout,rate_hz\n");
        for (const RateSample& r : sim.rate_samples()) {
            const char* readout = r.readout == RateReadout::Count ? "count" : r.readout == RateReadout::Exp ? "exp" : "model";
            csv.row("{},{},{},{},{}\n", tb.format_ms(r.t), sim.population(r.population).name(), r.neuron, readout,
                    r.rate_hz);
        }
    }

    // Weights: probe samples, then the final weight of every synapse of every plastic projection.
    bool any_plastic = false;
    for (const auto& pj : spec.spec.projections) any_plastic = any_plastic || pj.plasticity.has_value();
    if (spec.spec.record.weights.empty() && !any_plastic) {
        out.obsolete("weights.csv");
    } else {
        CsvWriter csv(out.add("weights.csv"), "t_ms,projection,pre,post,w\n");
        auto row = [&](const WeightSample& w) {
            csv.row("{},{},{},{},{}\n", tb.format_ms(w.t), sim.projection(w.projection).name(), w.pre, w.post, w.w);
        };
        for (const WeightSample& w : sim.weight_samples()) row(w);
        for (std::size_t j = 0; j < sim.num_projections(); ++j)
            if (sim.projection(j).learns())
                for (const WeightSample& w : sim.weights_now(j)) row(w);
    }

    out.add("run.json") << run_json(sim, spec, info);
    out.commit();
}

}  // namespace spikeem::io

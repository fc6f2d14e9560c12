#include "io/outputs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>
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

// One column of an output table: its name (CSV header, npy field) and its npy
// type code (f8, u8, u4, u1; the byte order is added).
struct Column {
    const char* name;
    const char* npy_type;
};
using Columns = std::vector<Column>;

// A table's rows as CSV text, formatted into a buffer written out every megabyte.
// Cells: time (exact decimal ms), label (its text), integer, real (shortest
// form that reads back exactly).
class CsvSink {
public:
    CsvSink(std::ofstream& out, const Columns& cols, const TimeBase& tb) : out_(out), tb_(tb) {
        for (std::size_t c = 0; c < cols.size(); ++c) out_ << (c ? "," : "") << cols[c].name;
        out_ << '\n';
    }
    void time(Tick t) {
        sep();
        const std::string s = tb_.format_ms(t);
        buf_.append(s.data(), s.data() + s.size());
    }
    void label(std::uint64_t, std::string_view text) {
        sep();
        buf_.append(text.data(), text.data() + text.size());
    }
    void integer(std::uint64_t x) {
        sep();
        fmt::format_to(std::back_inserter(buf_), "{}", x);
    }
    void real(double x) {
        sep();
        fmt::format_to(std::back_inserter(buf_), "{}", x);
    }
    void end_row() {
        buf_.push_back('\n');
        first_ = true;
        if (buf_.size() > (1u << 20)) flush();
    }
    void finish() { flush(); }

private:
    void sep() {
        if (!first_) buf_.push_back(',');
        first_ = false;
    }
    void flush() {
        out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        buf_.clear();
    }
    std::ofstream& out_;
    const TimeBase& tb_;
    fmt::memory_buffer buf_;
    bool first_ = true;
};

// A table as a NumPy .npy file (format 1.0): the header (magic, version, its
// length, a Python dict literal with the structured dtype and the row count,
// padded with spaces to a multiple of 64 bytes and ended by a newline), then
// the rows packed in the machine's byte order.  The row count is known before
// the first row and checked at finish().
class NpySink {
public:
    NpySink(std::ofstream& out, const Columns& cols, std::size_t rows, const TimeBase& tb)
        : out_(out), cols_(cols), rows_(rows), ticks_per_ms_(static_cast<double>(tb.ticks_per_ms())) {
        const char order = std::endian::native == std::endian::little ? '<' : '>';
        std::string descr;
        for (const Column& c : cols) {
            const char o = c.npy_type[1] == '1' ? '|' : order;  // one byte has no order
            descr += fmt::format("{}('{}', '{}{}')", descr.empty() ? "" : ", ", c.name, o, c.npy_type);
        }
        std::string dict = fmt::format("{{'descr': [{}], 'fortran_order': False, 'shape': ({},), }}", descr, rows);
        const std::size_t unpadded = 10 + dict.size() + 1;  // magic 6, version 2, length 2; newline 1
        dict.append((64 - unpadded % 64) % 64, ' ');
        dict += '\n';
        if (dict.size() > 65535) throw std::logic_error("npy header too long for format 1.0");
        const auto len = static_cast<std::uint16_t>(dict.size());
        const char head[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xff),
                               static_cast<char>(len >> 8)};  // the length is little-endian in every byte order
        out_.write(head, 10);
        out_ << dict;
    }
    void time(Tick t) { put(static_cast<double>(t) / ticks_per_ms_); }  // correctly rounded: the nearest double
    void label(std::uint64_t index, std::string_view) { integer(index); }
    void integer(std::uint64_t x) {
        switch (cols_[col_].npy_type[1]) {
            case '1': put(static_cast<std::uint8_t>(x)); break;
            case '4': put(static_cast<std::uint32_t>(x)); break;
            default: put(x); break;
        }
    }
    void real(double x) { put(x); }
    void end_row() {
        if (col_ != cols_.size()) throw std::logic_error("npy row with a wrong number of cells");
        col_ = 0;
        ++written_;
        if (buf_.size() > (1u << 20)) flush();
    }
    void finish() {
        flush();
        if (written_ != rows_) throw std::logic_error(fmt::format("npy table: {} rows announced, {} written", rows_, written_));
    }

private:
    template <class T>
    void put(T x) {
        // A cell of the wrong type would shift every later byte: a bug in a table's writer.
        if (col_ >= cols_.size() || cols_[col_].npy_type[1] - '0' != static_cast<int>(sizeof(T)))
            throw std::logic_error(fmt::format("npy cell {} does not match its column", col_));
        char bytes[sizeof(T)];
        std::memcpy(bytes, &x, sizeof(T));
        buf_.append(bytes, bytes + sizeof(T));
        ++col_;
    }
    void flush() {
        out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        buf_.clear();
    }
    std::ofstream& out_;
    const Columns& cols_;
    std::size_t rows_, written_ = 0, col_ = 0;
    double ticks_per_ms_;
    fmt::memory_buffer buf_;
};

// Table `stem` in the run's format: `rows(sink)` writes its `count` rows
// through either sink; the other format's file of an earlier run goes.
template <class Rows>
void table(OutputSet& out, OutputFormat format, const TimeBase& tb, const std::string& stem, const Columns& cols,
           std::size_t count, Rows&& rows) {
    if (format == OutputFormat::Csv) {
        out.obsolete(stem + ".npy");
        CsvSink sink(out.add(stem + ".csv"), cols, tb);
        rows(sink);
        sink.finish();
    } else {
        out.obsolete(stem + ".csv");
        NpySink sink(out.add(stem + ".npy"), cols, count, tb);
        rows(sink);
        sink.finish();
    }
}

void no_table(OutputSet& out, const std::string& stem) {
    out.obsolete(stem + ".csv");
    out.obsolete(stem + ".npy");
}

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
        std::string operator()(const InhibitoryStdpParams&) const { return "inhibitory_stdp"; }
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
    if (!spec.input_files.empty()) {  // only for specs that read files: other runs' run.json stay as they were
        j += "  \"input_files\": [\n";
        for (std::size_t k = 0; k < spec.input_files.size(); ++k) {
            const InputFile& f = spec.input_files[k];
            j += fmt::format("    {{\"field\": {}, \"path\": {}, \"opened\": {}, \"bytes\": {}, \"hash\": {}}}{}\n",
                             json_string(f.field), json_string(f.path), json_string(f.opened), f.bytes,
                             json_string(f.hash), k + 1 < spec.input_files.size() ? "," : "");
        }
        j += "  ],\n";
    }
    if (!spec.set.empty()) {  // only when --set was given: other runs' run.json stay as they were
        std::string list;
        for (const std::string& a : spec.set) list += (list.empty() ? "" : ", ") + json_string(a);
        j += fmt::format("  \"set\": [{}],\n", list);
    }
    j += fmt::format("  \"seed\": {},\n", spec.spec.run.seed);
    j += fmt::format("  \"resolution_ns\": {},\n", json_number(tb.resolution_ns()));
    j += fmt::format("  \"duration_ms\": {},\n", tb.format_ms(sim.now()));
    j += fmt::format("  \"output_format\": {},\n", json_string(format_name(info.format)));
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

namespace {

void write_spikes(OutputSet& out, OutputFormat f, const Simulation& sim) {
    const std::vector<SpikeRecord> spikes = sim.sorted_spikes();
    table(out, f, sim.time(), "spikes", {{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}}, spikes.size(),
          [&](auto& t) {
              for (const SpikeRecord& s : spikes) {
                  t.time(s.t);
                  t.label(s.population, sim.population(s.population).name());
                  t.integer(s.neuron);
                  t.end_row();
              }
          });
}

void write_voltages(OutputSet& out, OutputFormat f, const Simulation& sim) {
    const auto& samples = sim.voltages();
    table(out, f, sim.time(), "voltages", {{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}, {"v_mV", "f8"}},
          samples.size(), [&](auto& t) {
              for (const VoltageSample& v : samples) {
                  t.time(v.t);
                  t.label(v.population, sim.population(v.population).name());
                  t.integer(v.neuron);
                  t.real(v.v_mV);
                  t.end_row();
              }
          });
}

void write_rates(OutputSet& out, OutputFormat f, const Simulation& sim) {
    const auto& samples = sim.rate_samples();
    const Columns cols{{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}, {"readout", "u1"}, {"rate_hz", "f8"}};
    table(out, f, sim.time(), "rates", cols, samples.size(), [&](auto& t) {
        static constexpr const char* readout[] = {"count", "exp", "model"};  // RateReadout's order
        for (const RateSample& r : samples) {
            t.time(r.t);
            t.label(r.population, sim.population(r.population).name());
            t.integer(r.neuron);
            t.label(static_cast<std::uint64_t>(r.readout), readout[static_cast<int>(r.readout)]);
            t.real(r.rate_hz);
            t.end_row();
        }
    });
}

// Probe samples, then the final weight of every synapse of every plastic projection.
void write_weights(OutputSet& out, OutputFormat f, const Simulation& sim) {
    std::vector<WeightSample> final_weights;
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        if (sim.projection(j).learns()) {
            const std::vector<WeightSample> w = sim.weights_now(j);
            final_weights.insert(final_weights.end(), w.begin(), w.end());
        }
    const std::vector<WeightSample>& samples = sim.weight_samples();
    const std::vector<WeightSample>& final_weights_c = final_weights;
    const Columns cols{{"t_ms", "f8"}, {"projection", "u4"}, {"pre", "u4"}, {"post", "u4"}, {"w", "f8"}};
    table(out, f, sim.time(), "weights", cols, samples.size() + final_weights.size(), [&](auto& t) {
        for (const std::vector<WeightSample>* list : {&samples, &final_weights_c})
            for (const WeightSample& w : *list) {
                t.time(w.t);
                t.label(w.projection, sim.projection(w.projection).name());
                t.integer(w.pre);
                t.integer(w.post);
                t.real(w.w);
                t.end_row();
            }
    });
}

void write_population_rates(OutputSet& out, OutputFormat f, const Simulation& sim) {
    const std::vector<PopulationRateSample> bins = sim.population_rates();
    const Columns cols{{"t_ms", "f8"}, {"probe", "u4"}, {"population", "u4"}, {"spikes", "u8"}, {"rate_hz", "f8"}};
    table(out, f, sim.time(), "population_rates", cols, bins.size(), [&](auto& t) {
        for (const PopulationRateSample& b : bins) {
            t.time(b.t);
            t.integer(b.probe);
            t.label(b.population, sim.population(b.population).name());
            t.integer(b.spikes);
            t.real(b.rate_hz);
            t.end_row();
        }
    });
}

}  // namespace

const char* format_name(OutputFormat f) { return f == OutputFormat::Csv ? "csv" : "npy"; }

std::optional<OutputFormat> parse_output_format(const std::string& name) {
    if (name == "csv") return OutputFormat::Csv;
    if (name == "npy") return OutputFormat::Npy;
    return std::nullopt;
}

void write_run_outputs(const fs::path& dir, const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    fs::create_directories(dir);
    OutputSet out(dir);
    const RecordSpec& rec = spec.spec.record;
    write_spikes(out, info.format, sim);
    if (rec.voltages.empty()) no_table(out, "voltages");
    else write_voltages(out, info.format, sim);
    if (rec.rates.empty()) no_table(out, "rates");
    else write_rates(out, info.format, sim);
    bool any_plastic = false;
    for (const auto& pj : spec.spec.projections) any_plastic = any_plastic || pj.plasticity.has_value();
    if (rec.weights.empty() && !any_plastic) no_table(out, "weights");
    else write_weights(out, info.format, sim);
    if (rec.population_rates.empty()) no_table(out, "population_rates");
    else write_population_rates(out, info.format, sim);
    out.add("run.json") << run_json(sim, spec, info);
    out.commit();
}

}  // namespace spikeem::io

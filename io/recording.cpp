#include "io/recording.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace spikeem::io {

namespace {

// One column of an output table: its name (CSV header, npy field) and its npy
// type code (f8, u8, u4, u1; the byte order is added).
struct Column {
    const char* name;
    const char* npy_type;
};
using Columns = std::vector<Column>;

const Columns kSpikeColumns{{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}};
const Columns kVoltageColumns{{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}, {"v_mV", "f8"}};
const Columns kRateColumns{{"t_ms", "f8"}, {"population", "u4"}, {"neuron", "u4"}, {"readout", "u1"}, {"rate_hz", "f8"}};
const Columns kWeightColumns{{"t_ms", "f8"}, {"projection", "u4"}, {"pre", "u4"}, {"post", "u4"}, {"w", "f8"}};
const Columns kPopulationRateColumns{
    {"t_ms", "f8"}, {"probe", "u4"}, {"population", "u4"}, {"spikes", "u8"}, {"rate_hz", "f8"}};

// The NumPy format 1.0 header of `rows` rows: magic, version, its length, a
// Python dict literal with the structured dtype and the row count, padded
// with spaces to a multiple of 64 bytes and ended by a newline.
std::string npy_header(const Columns& cols, std::uint64_t rows) {
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
    return std::string(head, 10) + dict;
}

}  // namespace

// A table's file.  CSV cells: time (exact decimal ms), label (its text),
// integer, real (shortest form that reads back exactly).  Npy cells: packed
// in the machine's byte order, times the double nearest the exact time,
// labels their index.  Rows are formatted into a buffer handed to the file
// every megabyte.
class RecordingWriter::Table {
public:
    Table(OutputFile& out, OutputFormat format, const Columns& cols, const TimeBase& tb, std::uint64_t expected_rows)
        : out_(out), format_(format), cols_(cols), tb_(tb), ticks_per_ms_(static_cast<double>(tb.ticks_per_ms())) {
        std::string head;
        if (format_ == OutputFormat::Csv) {
            for (std::size_t c = 0; c < cols.size(); ++c) head += fmt::format("{}{}", c ? "," : "", cols[c].name);
            head += '\n';
        } else {
            head = npy_header(cols_, expected_rows);  // its room; the count is rewritten at finish
        }
        out_.write(head.data(), static_cast<std::streamsize>(head.size()));
        header_ = bytes_ = head.size();
    }
    // Going on from `s`, whose bytes the caller has written to `out` already.
    Table(OutputFile& out, OutputFormat format, const Columns& cols, const TimeBase& tb, const TableState& s)
        : out_(out), format_(format), cols_(cols), tb_(tb), ticks_per_ms_(static_cast<double>(tb.ticks_per_ms())),
          rows_(s.rows), bytes_(s.bytes), header_(s.header_bytes) {}

    void time(Tick t) {
        if (format_ == OutputFormat::Npy) return put(static_cast<double>(t) / ticks_per_ms_);  // correctly rounded
        sep();
        const std::string s = tb_.format_ms(t);
        buf_.append(s.data(), s.data() + s.size());
    }
    void label(std::uint64_t index, std::string_view text) {
        if (format_ == OutputFormat::Npy) return integer(index);
        sep();
        buf_.append(text.data(), text.data() + text.size());
    }
    void integer(std::uint64_t x) {
        if (format_ == OutputFormat::Npy) {
            switch (cols_[col_ < cols_.size() ? col_ : 0].npy_type[1]) {
                case '1': return put(static_cast<std::uint8_t>(x));
                case '4': return put(static_cast<std::uint32_t>(x));
                default: return put(x);
            }
        }
        sep();
        fmt::format_to(std::back_inserter(buf_), "{}", x);
    }
    void real(double x) {
        if (format_ == OutputFormat::Npy) return put(x);
        sep();
        fmt::format_to(std::back_inserter(buf_), "{}", x);
    }
    void end_row() {
        if (format_ == OutputFormat::Csv) buf_.push_back('\n');
        else if (col_ != cols_.size()) throw std::logic_error("npy row with a wrong number of cells");
        first_ = true;
        col_ = 0;
        ++rows_;
        if (buf_.size() > (1u << 20)) write_buffer();
    }

    TableState flush() {
        write_buffer();
        out_.flush();
        return TableState{out_.path().filename().string(), out_.path(), bytes_, rows_, header_};
    }
    // The npy header with the final row count.
    void finish() {
        write_buffer();
        if (format_ == OutputFormat::Npy) out_.write_at(0, npy_header(cols_, rows_));
    }

private:
    void sep() {
        if (!first_) buf_.push_back(',');
        first_ = false;
    }
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
    // Hands the buffer to the file.  An npy header that the row count has
    // outgrown (or shrunk below) gets its room now: the rows move once.
    void write_buffer() {
        out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        out_.check();
        bytes_ += buf_.size();
        buf_.clear();
        if (format_ != OutputFormat::Npy) return;
        const std::uint64_t need = npy_header(cols_, rows_).size();
        if (need == header_) return;
        out_.move_tail(header_, need);
        bytes_ = bytes_ - header_ + need;
        header_ = need;
    }

    OutputFile& out_;
    OutputFormat format_;
    const Columns& cols_;
    const TimeBase& tb_;
    double ticks_per_ms_;
    fmt::memory_buffer buf_;
    bool first_ = true;
    std::size_t col_ = 0;
    std::uint64_t rows_ = 0, bytes_ = 0, header_ = 0;
};



namespace {

// The first `bytes` bytes of `from` onto the end of `to`.
void copy_prefix(const std::filesystem::path& from, std::uint64_t bytes, OutputFile& to) {
    std::ifstream in(from, std::ios::binary);
    std::vector<char> buf(std::size_t{1} << 20);
    for (std::uint64_t left = bytes; left > 0;) {
        const auto n = static_cast<std::streamsize>(std::min<std::uint64_t>(left, buf.size()));
        if (!in.read(buf.data(), n))
            throw std::runtime_error(fmt::format("cannot read {} bytes of {}: {}", bytes, from.string(),
                                                 in.eof() ? "the file is shorter" : std::strerror(errno)));
        to.write(buf.data(), n);
        left -= static_cast<std::uint64_t>(n);
    }
    to.check();
}

// Table `stem` in `format`, or null when the run does not write it; the
// other format's file (or both files) of an earlier run go.
std::unique_ptr<RecordingWriter::Table> open_table(OutputSet& out, OutputFormat format, bool wanted,
                                                   const std::string& stem, const Columns& cols, const TimeBase& tb,
                                                   std::uint64_t expected_rows, const std::vector<TableSource>* from) {
    const bool csv = format == OutputFormat::Csv;
    if (!wanted || !csv) out.obsolete(stem + ".csv");
    if (!wanted || csv) out.obsolete(stem + ".npy");
    if (!wanted) return nullptr;
    const std::string name = stem + (csv ? ".csv" : ".npy");
    if (from == nullptr) return std::make_unique<RecordingWriter::Table>(out.add(name), format, cols, tb, expected_rows);
    // A resumed run: the table starts as its source's first bytes.
    const auto s = std::find_if(from->begin(), from->end(), [&](const TableSource& t) { return t.state.file == name; });
    if (s == from->end()) throw std::runtime_error("the checkpoint has no copy of " + name);
    OutputFile& file = out.add(name);
    copy_prefix(s->copy, s->state.bytes, file);
    return std::make_unique<RecordingWriter::Table>(file, format, cols, tb, s->state);
}

}  // namespace

RecordingWriter::RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format)
    : RecordingWriter(out, sim, spec, format, nullptr) {}

RecordingWriter::RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format,
                                 const std::vector<TableSource>& from)
    : RecordingWriter(out, sim, spec, format, &from) {
    std::size_t used = 0;
    for (Table* t : {spikes_.get(), voltages_.get(), rates_.get(), weights_.get(), population_rates_.get()})
        used += t != nullptr;
    if (used != from.size()) throw std::runtime_error("the checkpoint has tables this run does not write");
}

RecordingWriter::RecordingWriter(OutputSet& out, const Simulation& sim, const NetworkSpec& spec, OutputFormat format,
                                 const std::vector<TableSource>* from)
    : sim_(sim), format_(format) {
    const RecordSpec& rec = spec.record;
    const TimeBase& tb = sim.time();
    const Tick end = sim.duration_ticks();
    bool any_plastic = false;
    std::uint64_t plastic_synapses = 0;
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        if (sim.projection(j).learns()) plastic_synapses += sim.projection(j).num_synapses();
    for (const auto& pj : spec.projections) any_plastic = any_plastic || pj.plasticity.has_value();
    spikes_ = open_table(out, format, true, "spikes", kSpikeColumns, tb, 0, from);
    voltages_ = open_table(out, format, !rec.voltages.empty(), "voltages", kVoltageColumns, tb,
                           sim.sample_rows(SampleKind::Voltage, 0, end), from);
    rates_ = open_table(out, format, !rec.rates.empty(), "rates", kRateColumns, tb,
                        sim.sample_rows(SampleKind::Rate, 0, end), from);
    weights_ = open_table(out, format, !rec.weights.empty() || any_plastic, "weights", kWeightColumns, tb,
                          sim.sample_rows(SampleKind::Weight, 0, end) + plastic_synapses, from);
    population_rates_ = open_table(out, format, !rec.population_rates.empty(), "population_rates",
                                   kPopulationRateColumns, tb, 0, from);
}

RecordingWriter::~RecordingWriter() = default;

void RecordingWriter::append(const RecordedRows& rows) {
    spikes(rows.spikes);
    voltages(rows.voltages);
    rates(rows.rate_samples);
    weights(rows.weight_samples);
    population_rates(rows.population_rates);
}

void RecordingWriter::spikes(std::span<const SpikeRecord> rows) {
    for (const SpikeRecord& s : rows) {
        spikes_->time(s.t);
        spikes_->label(s.population, sim_.population(s.population).name());
        spikes_->integer(s.neuron);
        spikes_->end_row();
    }
}

void RecordingWriter::voltages(std::span<const VoltageSample> rows) {
    if (!voltages_) return;
    for (const VoltageSample& v : rows) {
        voltages_->time(v.t);
        voltages_->label(v.population, sim_.population(v.population).name());
        voltages_->integer(v.neuron);
        voltages_->real(v.v_mV);
        voltages_->end_row();
    }
}

void RecordingWriter::rates(std::span<const RateSample> rows) {
    if (!rates_) return;
    static constexpr const char* readout[] = {"count", "exp", "model"};  // RateReadout's order
    for (const RateSample& r : rows) {
        rates_->time(r.t);
        rates_->label(r.population, sim_.population(r.population).name());
        rates_->integer(r.neuron);
        rates_->label(static_cast<std::uint64_t>(r.readout), readout[static_cast<int>(r.readout)]);
        rates_->real(r.rate_hz);
        rates_->end_row();
    }
}

void RecordingWriter::weights(std::span<const WeightSample> rows) {
    if (!weights_) return;
    for (const WeightSample& w : rows) {
        weights_->time(w.t);
        weights_->label(w.projection, sim_.projection(w.projection).name());
        weights_->integer(w.pre);
        weights_->integer(w.post);
        weights_->real(w.w);
        weights_->end_row();
    }
}

void RecordingWriter::population_rates(std::span<const PopulationRateSample> rows) {
    if (!population_rates_) return;
    for (const PopulationRateSample& b : rows) {
        population_rates_->time(b.t);
        population_rates_->integer(b.probe);
        population_rates_->label(b.population, sim_.population(b.population).name());
        population_rates_->integer(b.spikes);
        population_rates_->real(b.rate_hz);
        population_rates_->end_row();
    }
}

std::vector<TableState> RecordingWriter::flush() {
    std::vector<TableState> out;
    for (Table* t : {spikes_.get(), voltages_.get(), rates_.get(), weights_.get(), population_rates_.get()})
        if (t) out.push_back(t->flush());
    return out;
}

void RecordingWriter::finish() {
    if (weights_)
        for (std::size_t j = 0; j < sim_.num_projections(); ++j)
            if (sim_.projection(j).learns()) weights(sim_.weights_now(j));
    for (Table* t : {spikes_.get(), voltages_.get(), rates_.get(), weights_.get(), population_rates_.get()})
        if (t) t->finish();
}

namespace {
// The bytes of the samples the probes record in [from, to).
std::uint64_t sample_bytes(const Simulation& sim, Tick from, Tick to) {
    return sim.sample_rows(SampleKind::Voltage, from, to) * sizeof(VoltageSample) +
           sim.sample_rows(SampleKind::Weight, from, to) * sizeof(WeightSample) +
           sim.sample_rows(SampleKind::Rate, from, to) * sizeof(RateSample);
}
}  // namespace

bool run_in_pieces(Simulation& sim, const std::function<void(const RecordedRows&)>& sink,
                   const std::function<bool()>& go_on, const std::function<void()>& after_piece,
                   std::size_t bound_bytes, Tick align_ticks) {
    using clock = std::chrono::steady_clock;
    const Tick end = sim.duration_ticks(), start = sim.now();
    Tick step = std::max<Tick>(1, std::min<Tick>(end - start, sim.time().ticks_per_ms()));
    while (sim.now() < end) {
        if (!go_on()) return false;
        const auto before = clock::now();
        const Tick now = sim.now();
        Tick piece = std::min(step, end - now);
        if (align_ticks > 0) piece = std::min(piece, (now / align_ticks + 1) * align_ticks - now);
        while (piece > 1 && sample_bytes(sim, now, now + piece) > bound_bytes) piece /= 2;
        sim.run_until(now + piece);
        const RecordedRows rows = sim.drain_recorded();
        sink(rows);
        const double took = std::chrono::duration<double>(clock::now() - before).count();
        const double held = static_cast<double>(rows.bytes()), half = static_cast<double>(bound_bytes) / 2.0;
        if (held > half)  // rows, not wall time, set the length: aim at half the bound
            step = std::max<Tick>(1, static_cast<Tick>(static_cast<double>(piece) * half / held));
        else if (took < 0.05) step = std::min(step, (end - start) / 2 + 1) * 2;
        else if (took > 0.2) step = std::max<Tick>(1, piece / 2);
        after_piece();
    }
    return true;
}

}  // namespace spikeem::io

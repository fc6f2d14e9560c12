// Files a spec names: spike times (spike_times.file: CSV or .npy) and rate
// tables (poisson.rate_table.file: CSV).  Each file is read once, whole; its
// size and content hash go to InputFiles::read for the spec hash and run.json.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/loader/sections.hpp"
#include "io/npy_read.hpp"
#include "sim/random.hpp"

namespace spikeem::io::loader {
namespace {

// At most this many problems are reported per file: one bad column would
// otherwise give a line per row.
constexpr int kMaxProblemsPerFile = 10;

// Reports the problems of one file (field `field` of node n), up to kMaxProblemsPerFile.
class FileProblems {
public:
    FileProblems(const Node& n, const char* field, const std::string& file, Validator& v)
        : n_(n), field_(field), value_(fmt::format("\"{}\"", file)), v_(v) {}
    void fail(const std::string& what) {
        if (count_ < kMaxProblemsPerFile)
            v_.fail(n_, field_, value_, what);
        else if (count_ == kMaxProblemsPerFile)
            v_.fail(n_, field_, value_, "more problems in this file not shown");
        ++count_;
    }
    bool any() const { return count_ > 0; }

private:
    const Node& n_;
    const char* field_;
    std::string value_;
    Validator& v_;
    int count_ = 0;
};

// The bytes of `file` (relative to files.base_dir), recorded in files.read; nothing (reported) if unreadable.
std::optional<std::string> read_input(const Node& n, const char* field, const std::string& file, InputFiles& files,
                                      FileProblems& problems) {
    std::filesystem::path p(file);
    if (p.is_relative() && !files.base_dir.empty()) p = std::filesystem::path(files.base_dir) / p;
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
        problems.fail(fmt::format("cannot read {}: it is a folder", p.string()));
        return std::nullopt;
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        problems.fail(fmt::format("cannot read {}: {}", p.string(), std::strerror(errno)));
        return std::nullopt;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    std::string bytes = buf.str();
    files.read.push_back(InputFile{n.at(field), file, p.string(), bytes.size(),
                                   fmt::format("fnv1a64:{:016x}", stable_hash(bytes))});
    return bytes;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_commas(std::string_view line) {
    std::vector<std::string_view> cells;
    for (;;) {
        const std::size_t c = line.find(',');
        cells.push_back(trim(line.substr(0, c)));
        if (c == std::string_view::npos) return cells;
        line.remove_prefix(c + 1);
    }
}

std::optional<double> parse_real(std::string_view s) {
    double x = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return x;
}

std::optional<std::uint64_t> parse_whole(std::string_view s) {
    std::uint64_t x = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return x;
}

// A CSV file's header and its data lines (1-based line numbers, empty lines left out).
struct CsvText {
    std::vector<std::string_view> header;
    std::size_t header_line = 1;
    std::vector<std::pair<std::size_t, std::string_view>> rows;
};

CsvText csv_lines(std::string_view text) {
    CsvText out;
    std::size_t line = 0;
    bool have_header = false;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view l = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line;
        if (trim(l).empty()) continue;
        if (!have_header) {
            out.header = split_commas(l);
            out.header_line = line;
            have_header = true;
        } else {
            out.rows.emplace_back(line, l);
        }
    }
    return out;
}

// The column of each name in `names` within the header; reports a header that
// is not exactly those columns (the optional ones may be missing).
std::optional<std::vector<int>> header_columns(const std::vector<std::string_view>& header, std::size_t header_line,
                                               const std::vector<std::string>& required,
                                               const std::vector<std::string>& optional, const std::string& example,
                                               FileProblems& problems) {
    std::vector<std::string> names = required;
    names.insert(names.end(), optional.begin(), optional.end());
    std::vector<int> col(names.size(), -1);
    bool ok = !header.empty();
    for (std::size_t c = 0; c < header.size(); ++c) {
        auto it = std::find(names.begin(), names.end(), header[c]);
        if (it == names.end() || col[static_cast<std::size_t>(it - names.begin())] >= 0)
            ok = false;
        else
            col[static_cast<std::size_t>(it - names.begin())] = static_cast<int>(c);
    }
    for (std::size_t k = 0; k < required.size(); ++k) ok = ok && col[k] >= 0;
    if (!ok) {
        std::string given;
        for (std::string_view h : header) {
            if (!given.empty()) given += ',';
            given += h;
        }
        problems.fail(fmt::format("line {}: header \"{}\": expected the columns {} once each, in any order{}{} (e.g. {})",
                                  header_line, given, fmt::join(required, " and "), optional.empty() ? "" : ", optionally ",
                                  fmt::join(optional, ", "), example));
        return std::nullopt;
    }
    return col;
}

// One spike's checks, where `at` is "line 7" or "element 6".  Neuron given as a double (whole, >= 0, < size).
void add_spike(const std::string& at, double neuron, const std::string& neuron_text, double t_ms, std::uint32_t size,
               FileProblems& problems, std::vector<std::vector<double>>& times_ms) {
    bool ok = true;
    if (!(neuron >= 0 && neuron == std::floor(neuron) && std::isfinite(neuron))) {
        problems.fail(fmt::format("{}: neuron = {}: must be a whole number >= 0 (neuron index)", at, neuron_text));
        ok = false;
    } else if (neuron >= size) {
        problems.fail(fmt::format("{}: neuron = {}: must be < size = {} (neuron index)", at, neuron_text, size));
        ok = false;
    }
    if (!(std::isfinite(t_ms) && t_ms >= 0)) {
        problems.fail(fmt::format("{}: t_ms = {}: must be a finite time >= 0 (ms)", at, num(t_ms)));
        ok = false;
    }
    if (ok) train_of(times_ms, static_cast<std::uint32_t>(neuron)).push_back(t_ms);
}

void spikes_from_csv(std::string_view text, const std::string& population, std::uint32_t size,
                     const Node& sn, Validator& v, FileProblems& problems,
                     std::vector<std::vector<double>>& times_ms) {
    const CsvText csv = csv_lines(text);
    const auto col = header_columns(csv.header, csv.header_line, {"neuron", "t_ms"}, {"population"},
                                    "\"neuron,t_ms\" or spikeem's spikes.csv, \"t_ms,population,neuron\"", problems);
    if (!col) return;
    const int pop_col = (*col)[2];
    if (pop_col >= 0 && population.empty())
        v.fail(sn, "population", "", "is required: the file has a population column (name the population to take)");
    if (pop_col < 0 && !population.empty())
        v.fail(sn, "population", fmt::format("\"{}\"", population), "the file has no population column to select from");
    if (pop_col >= 0 && population.empty()) return;
    for (const auto& [line, l] : csv.rows) {
        const std::vector<std::string_view> cells = split_commas(l);
        const std::string at = fmt::format("line {}", line);
        if (cells.size() != csv.header.size()) {
            problems.fail(fmt::format("{}: {} cells, expected {} as in the header", at, cells.size(), csv.header.size()));
            continue;
        }
        if (pop_col >= 0 && cells[static_cast<std::size_t>(pop_col)] != population) continue;
        const std::string_view neuron = cells[static_cast<std::size_t>((*col)[0])];
        const std::string_view t = cells[static_cast<std::size_t>((*col)[1])];
        const auto n = parse_whole(neuron);
        const auto tm = parse_real(t);
        if (!tm) problems.fail(fmt::format("{}: t_ms = \"{}\": must be a number (ms)", at, t));
        if (!n) problems.fail(fmt::format("{}: neuron = \"{}\": must be a whole number >= 0 (neuron index)", at, neuron));
        if (n && tm) add_spike(at, static_cast<double>(*n), std::string(neuron), *tm, size, problems, times_ms);
    }
}

// The population selector for an .npy file: the population's index in decimal.
std::optional<std::int64_t> npy_population(const std::string& population, const Node& sn, Validator& v) {
    const auto k = parse_whole(population);
    if (!k || *k > static_cast<std::uint64_t>(INT64_MAX)) {
        v.fail(sn, "population", fmt::format("\"{}\"", population),
               "must be a population index (a whole number, as spikeem's spikes.npy holds) for an .npy file");
        return std::nullopt;
    }
    return static_cast<std::int64_t>(*k);
}

std::string shape_text(const NpyArray& a) {
    return fmt::format("({}{})", fmt::join(a.shape, ", "), a.shape.size() == 1 ? "," : "");
}

void spikes_from_npy(const std::string& bytes, const std::string& population, std::uint32_t size, const Node& sn,
                     Validator& v, FileProblems& problems, std::vector<std::vector<double>>& times_ms) {
    NpyArray a;
    try {
        a = parse_npy(bytes);
    } catch (const NpyError& e) {
        problems.fail(fmt::format("not a readable .npy file: {}", e.what()));
        return;
    }
    const NpyField *neuron = a.field("neuron"), *t = a.field("t_ms"), *pop = a.field("population");
    const std::string expected = "expected a 1-d structured array with fields neuron and t_ms (optionally population), "
                                 "or a float64 array of shape (N, 2) holding [neuron, t_ms] rows";
    std::size_t rows = 0;
    if (a.structured) {
        if (!neuron || !t || a.shape.size() != 1) {
            problems.fail(fmt::format("fields ({}) with shape {}: {}",
                                      [&] {
                                          std::string s;
                                          for (const auto& f : a.fields) s += (s.empty() ? "'" : ", '") + f.name + "'";
                                          return s;
                                      }(),
                                      shape_text(a), expected));
            return;
        }
        if (t->type != "<f8") problems.fail(fmt::format("field t_ms has type '{}': expected '<f8' (float64 ms)", t->type));
        if (neuron->kind == 'f' && neuron->bytes != 8)
            problems.fail(fmt::format("field neuron has type '{}': expected an integer type or '<f8'", neuron->type));
        if (pop && pop->kind == 'f')
            problems.fail(fmt::format("field population has type '{}': expected an integer type", pop->type));
        if (problems.any()) return;
        rows = a.shape[0];
    } else {
        if (a.fields[0].type != "<f8" || a.shape.size() != 2 || a.shape[1] != 2) {
            problems.fail(fmt::format("dtype '{}' with shape {}: {}", a.fields[0].type, shape_text(a), expected));
            return;
        }
        rows = a.shape[0];
        neuron = t = &a.fields[0];  // the two columns are elements (row, 0) and (row, 1): index() below
        pop = nullptr;
    }
    if (pop && population.empty())
        v.fail(sn, "population", "", "is required: the file has a population field (give the population's index)");
    if (!pop && !population.empty())
        v.fail(sn, "population", fmt::format("\"{}\"", population), "the file has no population field to select from");
    std::optional<std::int64_t> want;
    if (pop && !population.empty()) want = npy_population(population, sn, v);
    if ((pop && !want) || (!pop && !population.empty())) return;
    // Element (row, column) of a plain (N, 2) array: C order row-major, Fortran order column-major.
    auto index = [&](std::size_t row, std::size_t column) {
        if (a.structured) return row;
        return a.fortran_order ? column * rows + row : row * 2 + column;
    };
    for (std::size_t i = 0; i < rows; ++i) {
        if (pop && a.integer(*pop, i) != *want) continue;
        const std::string at = fmt::format("element {}", i);
        double n = 0;
        std::string n_text;
        if (a.structured && neuron->kind != 'f') {
            bool too_large = false;
            const std::int64_t k = a.integer(*neuron, i, &too_large);
            n = too_large ? 1e300 : static_cast<double>(k);
            n_text = too_large ? "> 2^63" : std::to_string(k);
        } else {
            n = a.real(*neuron, index(i, 0));
            n_text = num(n);
        }
        add_spike(at, n, n_text, a.real(*t, index(i, 1)), size, problems, times_ms);
    }
}

bool is_npy_name(const std::string& file) {
    std::string ext = std::filesystem::path(file).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".npy";
}

}  // namespace

void read_spike_times_file(const Node& sn, const std::string& file, const std::string& population,
                           std::uint32_t size, InputFiles& files, Validator& v,
                           std::vector<std::vector<double>>& times_ms) {
    FileProblems problems(sn, "file", file, v);
    const std::optional<std::string> bytes = read_input(sn, "file", file, files, problems);
    if (!bytes) return;
    if (is_npy_name(file))
        spikes_from_npy(*bytes, population, size, sn, v, problems, times_ms);
    else
        spikes_from_csv(*bytes, population, size, sn, v, problems, times_ms);
}

void read_rate_table_file(const Node& tn, const std::string& file, InputFiles& files, Validator& v,
                          std::vector<double>& t_ms, std::vector<double>& rate_hz, std::vector<std::size_t>& lines) {
    FileProblems problems(tn, "file", file, v);
    const std::optional<std::string> bytes = read_input(tn, "file", file, files, problems);
    if (!bytes) return;
    const CsvText csv = csv_lines(*bytes);
    const auto col = header_columns(csv.header, csv.header_line, {"t_ms", "rate_hz"}, {}, "\"t_ms,rate_hz\"", problems);
    if (!col) return;
    for (const auto& [line, l] : csv.rows) {
        const std::vector<std::string_view> cells = split_commas(l);
        if (cells.size() != 2) {
            problems.fail(fmt::format("line {}: {} cells, expected 2 as in the header", line, cells.size()));
            continue;
        }
        const std::string_view t = cells[static_cast<std::size_t>((*col)[0])];
        const std::string_view r = cells[static_cast<std::size_t>((*col)[1])];
        const auto tv = parse_real(t);
        const auto rv = parse_real(r);
        if (!tv) problems.fail(fmt::format("line {}: t_ms = \"{}\": must be a number (ms)", line, t));
        if (!rv) problems.fail(fmt::format("line {}: rate_hz = \"{}\": must be a number (Hz)", line, r));
        if (!tv || !rv) continue;
        t_ms.push_back(*tv);
        rate_hz.push_back(*rv);
        lines.push_back(line);
    }
}

}  // namespace spikeem::io::loader

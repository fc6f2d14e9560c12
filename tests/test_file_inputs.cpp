#include <doctest/doctest.h>
#include <fmt/format.h>
// Tests of spike times read from files (spike_times.file: CSV and .npy, and
// spikeem's own spikes.csv / spikes.npy read back), of the .npy reader, and of
// Poisson sources whose rate follows a table over time (poisson.rate_table).
//
// Files are written by the tests into a fresh temporary folder; the .npy
// files are assembled byte by byte here (magic, version, header, data), not by
// the reader's own code.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "file_helpers.hpp"
#include "io/npy_read.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

namespace fs = std::filesystem;
using namespace spikeem;
using spikeem::io::load_spec_file;
using spikeem::io::load_spec_text;
using spikeem::io::LoadedSpec;
using spikeem::io::SpecError;

namespace {

// Restores the working directory at scope exit.
struct InDir {
    fs::path old = fs::current_path();
    explicit InDir(const fs::path& p) { fs::current_path(p); }
    ~InDir() { fs::current_path(old); }
};

template <class T>
void put(std::string& s, T x) {
    char b[sizeof(T)];
    std::memcpy(b, &x, sizeof(T));
    s.append(b, sizeof(T));
}

// An .npy file: descr and shape as Python literals, the data bytes as given.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data, bool fortran = false,
                int version = 1) {
    std::string dict =
        "{'descr': " + descr + ", 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    const std::size_t pre = version == 1 ? 10 : 12;
    dict.append((64 - (pre + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(version);
    out += '\0';
    if (version == 1)
        put(out, static_cast<std::uint16_t>(dict.size()));
    else
        put(out, static_cast<std::uint32_t>(dict.size()));
    return out + dict + data;
}

using Spike = std::tuple<Tick, std::uint32_t, std::uint32_t>;  // tick, population, neuron

std::vector<Spike> spikes_of(const LoadedSpec& loaded) {
    Simulation sim(loaded.spec);
    sim.run();
    std::vector<Spike> out;
    for (const SpikeRecord& s : sim.sorted_spikes()) out.emplace_back(s.t, s.population, s.neuron);
    return out;
}

std::string error_of(const std::string& text, const std::string& base_dir) {
    try {
        (void)load_spec_text(text, "t.pbtxt", {}, base_dir);
    } catch (const SpecError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a SpecError: ") + e.what() + ">";
    }
    return "<no error>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A spike_times spec of population S (3 neurons) reading `source` (a spike_times body).
std::string spike_spec(const std::string& body) {
    return "run { duration_ms: 50 }\npopulation { name: \"S\" size: 3 spike_times { " + body +
           " } }\nrecord { spikes: \"S\" }\n";
}

// Inline trains and the same spikes, in another order, as rows [neuron, t_ms]
// (one past the run's end, one rounding to tick 0, a repeated time).
const char* kTrains = "train { neuron: 0 t_ms: [1.5, 3, 0.0000004, 3] } train { neuron: 2 t_ms: [60, 7.25, 0.1234567] }";
const std::vector<std::pair<std::uint32_t, double>> kRows = {{2, 60}, {0, 3},    {2, 0.1234567}, {0, 1.5},
                                                             {2, 7.25}, {0, 0.0000004}, {0, 3}};

}  // namespace

TEST_CASE("file inputs: CSV and .npy spike files give exactly the spikes of the same inline trains") {
    spikeem::test::TempDir dir;
    const std::vector<Spike> want = spikes_of(load_spec_text(spike_spec(kTrains)));
    REQUIRE(want.size() == 6);  // 60 ms is past the end of the 50 ms run

    std::string csv = "neuron,t_ms\n";
    for (const auto& [n, t] : kRows) csv += std::to_string(n) + "," + fmt::format("{}", t) + "\n";
    dir.write("in.csv", csv + "\n");
    std::string csv_swapped = "t_ms , neuron\r\n";  // columns in the other order, spaces, CRLF, empty lines
    for (const auto& [n, t] : kRows) csv_swapped += fmt::format("{}, {}\r\n\r\n", t, n);
    dir.write("swapped.csv", csv_swapped);

    std::string plain, fortran, structured;
    for (const auto& [n, t] : kRows) {
        put(plain, static_cast<double>(n));
        put(plain, t);
        put(structured, t);
        put(structured, static_cast<std::int64_t>(n));
    }
    for (const auto& [n, t] : kRows) put(fortran, static_cast<double>(n));
    for (const auto& [n, t] : kRows) put(fortran, t);
    const std::string rows = std::to_string(kRows.size());
    dir.write("plain.npy", npy("'<f8'", "(" + rows + ", 2)", plain));
    dir.write("fortran.npy", npy("'<f8'", "(" + rows + ", 2)", fortran, true));
    dir.write("structured.npy", npy("[('t_ms', '<f8'), ('neuron', '<i8')]", "(" + rows + ",)", structured, false, 2));

    for (const std::string file : {"in.csv", "swapped.csv", "plain.npy", "fortran.npy", "structured.npy"}) {
        CAPTURE(file);
        const LoadedSpec loaded =
            load_spec_text(spike_spec(std::string("file: \"") + file + "\""), "t.pbtxt", {}, dir.path.string());
        const std::vector<Spike> got = spikes_of(loaded);
        CHECK(got == want);
        if (got != want)
            for (const auto& [t, p, i] : got) MESSAGE("got tick ", t, " neuron ", i);
        REQUIRE(loaded.input_files.size() == 1);
        CHECK(loaded.input_files[0].field == "population \"S\".spike_times.file");
        CHECK(loaded.input_files[0].path == file);
        CHECK(loaded.input_files[0].bytes == fs::file_size(dir.path / file));
    }
}

TEST_CASE("file inputs: spikeem's own spikes.csv and spikes.npy drive another run with the same spikes") {
    spikeem::test::TempDir dir;
    const std::string source = R"pb(run { duration_ms: 200 seed: 3 }
population { name: "P" size: 20 poisson { rate_hz: 40 } }
population { name: "Q" size: 30 poisson { rate_hz: 25 } }
record { spikes: ["Q", "P"] }
)pb";
    const LoadedSpec a = load_spec_text(source);
    Simulation sim(a.spec);
    sim.run();
    std::vector<std::pair<Tick, std::uint32_t>> want_p, want_q;
    for (const SpikeRecord& s : sim.sorted_spikes()) (s.population == 0 ? want_p : want_q).emplace_back(s.t, s.neuron);
    REQUIRE(want_p.size() > 50);
    REQUIRE(want_q.size() > 50);
    io::write_run_outputs(dir.path / "csv", sim, a, io::RunInfo{"a.pbtxt", 0.0, io::OutputFormat::Csv});
    io::write_run_outputs(dir.path / "npy", sim, a, io::RunInfo{"a.pbtxt", 0.0, io::OutputFormat::Npy});

    // Replayed into populations of the same sizes, one selected by name (CSV) or index (.npy).
    auto replay = [&](const std::string& file, const std::string& p, const std::string& q) {
        const std::string spec = "run { duration_ms: 200 }\n"
                                 "population { name: \"P2\" size: 20 spike_times { file: \"" + file +
                                 "\" population: \"" + p + "\" } }\n"
                                 "population { name: \"Q2\" size: 30 spike_times { file: \"" + file +
                                 "\" population: \"" + q + "\" } }\n"
                                 "record { spikes: [\"P2\", \"Q2\"] }\n";
        const LoadedSpec b = load_spec_text(spec, "b.pbtxt", {}, dir.path.string());
        CHECK(b.input_files.size() == 2);
        Simulation replayed(b.spec);
        replayed.run();
        std::vector<std::pair<Tick, std::uint32_t>> got_p, got_q;
        for (const SpikeRecord& s : replayed.sorted_spikes())
            (s.population == 0 ? got_p : got_q).emplace_back(s.t, s.neuron);
        CHECK(got_p == want_p);
        CHECK(got_q == want_q);
    };
    SUBCASE("spikes.csv") { replay("csv/spikes.csv", "P", "Q"); }
    SUBCASE("spikes.npy") { replay("npy/spikes.npy", "0", "1"); }
}

TEST_CASE("file inputs: relative paths start at the spec file's folder, or the working directory for text") {
    spikeem::test::TempDir dir;
    fs::create_directory(dir.path / "specs");
    dir.write("specs/in.csv", "neuron,t_ms\n1,2.5\n");
    dir.write("in.csv", "neuron,t_ms\n2,4\n");
    const fs::path spec = dir.write("specs/s.pbtxt", spike_spec("file: \"in.csv\""));
    InDir here(dir.path);
    // From the file: specs/in.csv, whatever the working directory.
    CHECK(spikes_of(load_spec_file(spec.string())) == std::vector<Spike>{{2500000, 0, 1}});
    CHECK(spikes_of(load_spec_file("specs/s.pbtxt")) == std::vector<Spike>{{2500000, 0, 1}});
    // From text with no folder: the working directory's in.csv.
    CHECK(spikes_of(load_spec_text(spike_spec("file: \"in.csv\""))) == std::vector<Spike>{{4000000, 0, 2}});
    // An absolute path is taken as it is.
    const std::string abs = (dir.path / "specs" / "in.csv").string();
    CHECK(spikes_of(load_spec_text(spike_spec("file: \"" + abs + "\""), "t", {}, "/nonexistent")) ==
          std::vector<Spike>{{2500000, 0, 1}});
}

TEST_CASE("file inputs: the files' content joins the spec hash and run.json") {
    spikeem::test::TempDir dir;
    dir.write("a.csv", "neuron,t_ms\n1,2.5\n");
    dir.write("b.csv", "neuron,t_ms\n1,2.5\n");
    const std::string text = spike_spec("file: \"in.csv\"");
    dir.write("in.csv", "neuron,t_ms\n1,2.5\n");
    const LoadedSpec one = load_spec_text(text, "t", {}, dir.path.string());
    const LoadedSpec same = load_spec_text(text, "t", {}, dir.path.string());
    dir.write("in.csv", "neuron,t_ms\n1,2.6\n");
    const LoadedSpec other = load_spec_text(text, "t", {}, dir.path.string());
    CHECK(one.hash == same.hash);
    CHECK(one.hash != other.hash);
    CHECK(one.input_files[0].hash != other.input_files[0].hash);
    CHECK(one.input_files[0].hash.rfind("fnv1a64:", 0) == 0);
    CHECK(one.input_files[0].bytes == 18);
    // The same file content under another name: the path is in the spec, so the hash differs too.
    CHECK(load_spec_text(spike_spec("file: \"a.csv\""), "t", {}, dir.path.string()).hash !=
          load_spec_text(spike_spec("file: \"b.csv\""), "t", {}, dir.path.string()).hash);

    Simulation sim(one.spec);
    sim.run();
    const std::string json = io::run_json(sim, one, io::RunInfo{"t", 0.0});
    CHECK(contains(json, "\"input_files\": [\n    {\"field\": \"population \\\"S\\\".spike_times.file\", \"path\": "
                         "\"in.csv\", \"opened\": \"" +
                             (dir.path / "in.csv").string() + "\", \"bytes\": 18, \"hash\": \"" +
                             one.input_files[0].hash + "\"}\n  ],\n"));
    // A spec without files: no input_files entry.
    const LoadedSpec inline_spec = load_spec_text(spike_spec(kTrains));
    Simulation sim2(inline_spec.spec);
    CHECK_FALSE(contains(io::run_json(sim2, inline_spec, io::RunInfo{"t", 0.0}), "input_files"));
}

TEST_CASE("file inputs: malformed spike files are rejected naming the field, file, line or element, value and rule") {
    spikeem::test::TempDir dir;
    const std::string base = dir.path.string();
    const std::string f = "population \"S\".spike_times.file = ";
    struct Bad {
        const char* name;
        std::string data;
        std::string fragment;
        std::string population = "";
    };
    std::string two_rows_f8;
    put(two_rows_f8, 1.0);
    put(two_rows_f8, 2.0);
    put(two_rows_f8, 5.0);
    put(two_rows_f8, -1.0);
    std::string three_cols(48, '\0');
    std::string bad_neuron_f8;
    put(bad_neuron_f8, 1.5);
    put(bad_neuron_f8, 2.0);
    std::string nan_row;
    put(nan_row, 0.0);
    put(nan_row, std::nan(""));
    std::string f4_times;
    put(f4_times, 1.0f);
    put(f4_times, std::uint32_t{0});
    const std::vector<Bad> cases = {
        {"h.csv", "neuron,time\n0,1\n",
         f + "\"h.csv\": line 1: header \"neuron,time\": expected the columns neuron and t_ms once each, in any "
             "order, optionally population (e.g. \"neuron,t_ms\" or spikeem's spikes.csv, \"t_ms,population,neuron\")"},
        {"dup.csv", "neuron,t_ms,neuron\n0,1,0\n", f + "\"dup.csv\": line 1: header \"neuron,t_ms,neuron\": expected"},
        {"big.csv", "neuron,t_ms\n0,1\n\n3,2\n", f + "\"big.csv\": line 4: neuron = 3: must be < size = 3 (neuron index)"},
        {"neg.csv", "neuron,t_ms\n0,-0.5\n", f + "\"neg.csv\": line 2: t_ms = -0.5: must be a finite time >= 0 (ms)"},
        {"nan.csv", "neuron,t_ms\n0,nan\n", f + "\"nan.csv\": line 2: t_ms = nan: must be a finite time >= 0 (ms)"},
        {"word.csv", "neuron,t_ms\n0,1ms\n", f + "\"word.csv\": line 2: t_ms = \"1ms\": must be a number (ms)"},
        {"frac.csv", "neuron,t_ms\n1.5,1\n",
         f + "\"frac.csv\": line 2: neuron = \"1.5\": must be a whole number >= 0 (neuron index)"},
        {"minus.csv", "neuron,t_ms\n-1,1\n",
         f + "\"minus.csv\": line 2: neuron = \"-1\": must be a whole number >= 0 (neuron index)"},
        {"cells.csv", "neuron,t_ms\n0,1,2\n", f + "\"cells.csv\": line 2: 3 cells, expected 2 as in the header"},
        {"pop.csv", "t_ms,population,neuron\n1.000000,A,0\n",
         "population \"S\".spike_times.population: is required: the file has a population column (name the "
         "population to take)"},
        {"nopop.csv", "neuron,t_ms\n0,1\n",
         "population \"S\".spike_times.population = \"A\": the file has no population column to select from", "A"},
        {"magic.npy", "neuron,t_ms\n",
         f + "\"magic.npy\": not a readable .npy file: magic: the file does not start with \\x93NUMPY (not an .npy file)"},
        {"be.npy", npy("'>f8'", "(1, 2)", std::string(16, '\0')),
         f + "\"be.npy\": not a readable .npy file: descr: type '>f8' is big-endian: only little-endian data is read"},
        {"shape.npy", npy("'<f8'", "(2, 3)", three_cols),
         f + "\"shape.npy\": dtype '<f8' with shape (2, 3): expected a 1-d structured array with fields neuron and "
             "t_ms (optionally population), or a float64 array of shape (N, 2) holding [neuron, t_ms] rows"},
        {"int.npy", npy("'<i8'", "(1, 2)", std::string(16, '\0')), f + "\"int.npy\": dtype '<i8' with shape (1, 2): expected"},
        {"fields.npy", npy("[('t', '<f8'), ('neuron', '<u4')]", "(1,)", std::string(12, '\0')),
         f + "\"fields.npy\": fields ('t', 'neuron') with shape (1,): expected"},
        {"f4.npy", npy("[('t_ms', '<f4'), ('neuron', '<u4')]", "(1,)", f4_times),
         f + "\"f4.npy\": field t_ms has type '<f4': expected '<f8' (float64 ms)"},
        {"short.npy", npy("'<f8'", "(3, 2)", two_rows_f8),
         f + "\"short.npy\": not a readable .npy file: data: 32 bytes for shape (3, 2) of 8-byte elements, expected 48"},
        {"rows.npy", npy("'<f8'", "(2, 2)", two_rows_f8),
         f + "\"rows.npy\": element 1: neuron = 5: must be < size = 3 (neuron index)"},
        {"rows_t.npy", npy("'<f8'", "(2, 2)", two_rows_f8),
         f + "\"rows_t.npy\": element 1: t_ms = -1: must be a finite time >= 0 (ms)"},
        {"half.npy", npy("'<f8'", "(1, 2)", bad_neuron_f8),
         f + "\"half.npy\": element 0: neuron = 1.5: must be a whole number >= 0 (neuron index)"},
        {"nan.npy", npy("'<f8'", "(1, 2)", nan_row), f + "\"nan.npy\": element 0: t_ms = nan: must be a finite time >= 0 (ms)"},
        {"v9.npy", "\x93NUMPY\x09" + std::string(20, '\0'), f + "\"v9.npy\": not a readable .npy file: version: 9.0 (expected 1.0, 2.0 or 3.0)"},
    };
    for (const Bad& c : cases) {
        CAPTURE(std::string(c.name));
        dir.write(c.name, c.data);
        std::string body = std::string("file: \"") + c.name + "\"";
        if (!c.population.empty()) body += " population: \"" + c.population + "\"";
        const std::string err = error_of(spike_spec(body), base);
        CAPTURE(err);
        CHECK(contains(err, c.fragment));
        CHECK(err.rfind("t.pbtxt:", 0) == 0);
    }
    // One message whole, with its place in the spec text.
    CHECK(error_of(spike_spec("file: \"big.csv\""), base) ==
          "t.pbtxt:2:46: population \"S\".spike_times.file = \"big.csv\": line 4: neuron = 3: must be < size = 3 "
          "(neuron index)");
    // An unreadable file: the path opened and the system's reason.
    CHECK(error_of(spike_spec("file: \"none.csv\""), base) ==
          "t.pbtxt:2:46: population \"S\".spike_times.file = \"none.csv\": cannot read " + (dir.path / "none.csv").string() +
              ": No such file or directory");
    // A file and trains; a selector without a file.
    dir.write("ok.csv", "neuron,t_ms\n0,1\n");
    CHECK(contains(error_of(spike_spec(std::string(kTrains) + " file: \"ok.csv\""), base),
                   f + "\"ok.csv\": replaces train: give the spikes in train or in a file, not both"));
    CHECK(contains(error_of(spike_spec("population: \"A\""), base),
                   "population \"S\".spike_times.population = \"A\": selects rows of a file: give it only with file"));
    // An .npy selector must be an index.
    std::string one_spike;
    put(one_spike, 1.0);
    put(one_spike, std::uint32_t{0});
    put(one_spike, std::uint32_t{0});
    dir.write("sp.npy", npy("[('t_ms', '<f8'), ('population', '<u4'), ('neuron', '<u4')]", "(1,)", one_spike));
    CHECK(contains(error_of(spike_spec("file: \"sp.npy\" population: \"P\""), base),
                   "population \"S\".spike_times.population = \"P\": must be a population index (a whole number, as "
                   "spikeem's spikes.npy holds) for an .npy file"));
    // At most ten problems per file, then one line saying there are more.
    std::string many = "neuron,t_ms\n";
    for (int k = 0; k < 25; ++k) many += "9,1\n";
    dir.write("many.csv", many);
    const std::string err = error_of(spike_spec("file: \"many.csv\""), base);
    CHECK(std::count(err.begin(), err.end(), '\n') == 10);
    CHECK(contains(err, "\"many.csv\": more problems in this file not shown"));
}

TEST_CASE("npy reader: versions, padding, integer widths and Fortran order") {
    std::string data;
    put(data, 2.5);
    put(data, std::uint32_t{0xdeadbeef});  // padding
    put(data, std::int16_t{-3});
    put(data, std::uint8_t{200});
    put(data, std::uint8_t{0});  // padding
    const std::string bytes = npy("[('t', '<f8'), ('', '|V4'), ('k', '<i2'), ('c', '|u1'), ('', '|V1')]", "(1,)", data,
                                  false, 3);
    const io::NpyArray a = io::parse_npy(bytes);
    CHECK(a.structured);
    CHECK(a.itemsize == 16);
    REQUIRE(a.fields.size() == 3);
    CHECK(a.real(*a.field("t"), 0) == 2.5);
    CHECK(a.integer(*a.field("k"), 0) == -3);
    CHECK(a.real(*a.field("k"), 0) == -3.0);
    CHECK(a.integer(*a.field("c"), 0) == 200);
    CHECK(a.field("") == nullptr);
    std::string big;
    put(big, std::uint64_t{1} << 63);
    const io::NpyArray u = io::parse_npy(npy("'<u8'", "(1,)", big));
    bool too_large = false;
    u.integer(u.fields[0], 0, &too_large);
    CHECK(too_large);
    CHECK(u.real(u.fields[0], 0) == 9223372036854775808.0);
    const io::NpyArray empty = io::parse_npy(npy("'<f8'", "(0, 2)", ""));
    CHECK(empty.elements() == 0);
    CHECK_THROWS_WITH_AS(io::parse_npy(npy("'<f8'", "(1,)", std::string(8, '\0')).replace(10, 9, "{'desc': ")),
                         doctest::Contains("header: unexpected key 'desc'"), io::NpyError);
    CHECK_THROWS_WITH_AS(io::parse_npy(npy("'|O'", "(1,)", std::string(8, '\0'))),
                         doctest::Contains("descr: type '|O' is not a numeric type"), io::NpyError);
    CHECK_THROWS_WITH_AS(io::parse_npy(npy("[('a', '<f8', (2,))]", "(1,)", std::string(16, '\0'))),
                         doctest::Contains("descr: field 'a' is a sub-array: not supported"), io::NpyError);
}

// ---------------------------------------------------------------------------
// Rate tables.

namespace {

// Spikes (tick, neuron) of a poisson population P of n neurons with the given poisson body.
std::vector<std::pair<Tick, std::uint32_t>> poisson_spikes(const std::string& body, std::uint32_t n, double duration_ms,
                                                           const std::string& base = "") {
    const std::string spec = fmt::format("run {{ duration_ms: {} seed: 11 }}\n"
                                         "population {{ name: \"P\" size: {} poisson {{ {} }} }}\n"
                                         "record {{ spikes: \"P\" }}\n",
                                         duration_ms, n, body);
    std::vector<std::pair<Tick, std::uint32_t>> out;
    for (const auto& [t, p, i] : spikes_of(load_spec_text(spec, "t.pbtxt", {}, base))) out.emplace_back(t, i);
    return out;
}

// Spikes with tick in [lo_ms, hi_ms) (1 tick = 1 ns).
std::size_t count_in(const std::vector<std::pair<Tick, std::uint32_t>>& s, double lo_ms, double hi_ms) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [&](const auto& x) {
        return x.first >= std::llround(lo_ms * 1e6) && x.first < std::llround(hi_ms * 1e6);
    }));
}

}  // namespace

TEST_CASE("rate table: counts per segment match the Poisson means, and rate 0 segments are silent") {
    // 4000 neurons; segments [0,100) 5 Hz, [100,300) 20 Hz, [300,500) 0, [500, end) 40 Hz; run 600 ms.
    // Counts are Poisson with mean n r len: z-test per segment, two-sided alpha = 1e-3 each (|z| < 3.29).
    const std::uint32_t n = 4000;
    const auto s = poisson_spikes("rate_table { t_ms: [0, 100, 300, 500] rate_hz: [5, 20, 0, 40] }", n, 600);
    struct Segment {
        double lo, hi, rate_hz;
    };
    for (const Segment& g : {Segment{0, 100, 5}, Segment{100, 300, 20}, Segment{500, 600, 40}}) {
        const double mean = n * g.rate_hz * (g.hi - g.lo) / 1000.0;
        const double z = (static_cast<double>(count_in(s, g.lo, g.hi)) - mean) / std::sqrt(mean);
        CAPTURE(g.lo);
        CAPTURE(z);
        CHECK(std::abs(z) < 3.29);
    }
    CHECK(count_in(s, 300, 500) == 0);
    CHECK(count_in(s, 0, 600) == s.size());

    // Rate 0 before the first row; start_ms and stop_ms cut the table: [150, 250) at 20 Hz, then 0.
    const auto cut = poisson_spikes("rate_table { t_ms: [100, 300] rate_hz: [20, 30] } start_ms: 150 stop_ms: 250", n, 600);
    CHECK(count_in(cut, 0, 150) == 0);
    CHECK(count_in(cut, 250, 600) == 0);
    const double mean = n * 20.0 * 0.1;
    const double z = (static_cast<double>(cut.size()) - mean) / std::sqrt(mean);
    CAPTURE(z);
    CHECK(std::abs(z) < 3.29);
}

TEST_CASE("rate table: the times are exact (time-rescaled spikes are uniform across row boundaries)") {
    // Time rescaling: with Lambda(t) the integral of the rate from 0, a Poisson process of
    // that rate on [0, T] with n spikes has Lambda(t_k) / Lambda(T) distributed as n
    // independent uniforms on [0, 1] (and n ~ Poisson(Lambda(T))).  Short rows (0.3 ms),
    // a third of them silent, put most spikes a few rows after the last one.  Checked:
    // Kolmogorov-Smirnov of the pooled u_k against U(0, 1) at alpha = 1e-3 (critical value
    // 1.95 / sqrt(m)), and the total count by a z-test at alpha = 1e-3 (|z| < 3.29).
    std::vector<double> t_ms, rate_hz;
    std::string rows_t, rows_r;
    for (int k = 0; k < 200; ++k) {
        t_ms.push_back(0.3 * k);
        rate_hz.push_back(k % 3 == 0 ? 0.0 : 200.0 + 37.0 * (k % 7));
        rows_t += fmt::format("{}{}", k ? ", " : "", t_ms.back());
        rows_r += fmt::format("{}{}", k ? ", " : "", rate_hz.back());
    }
    auto lambda = [&](double t) {
        double sum = 0;
        for (std::size_t k = 0; k < t_ms.size(); ++k) {
            const double end = k + 1 < t_ms.size() ? t_ms[k + 1] : INFINITY;
            if (t > t_ms[k]) sum += rate_hz[k] / 1000.0 * (std::min(t, end) - t_ms[k]);
        }
        return sum;
    };
    const std::uint32_t n = 500;
    const double end_ms = 80;
    const auto s = poisson_spikes("rate_table { t_ms: [" + rows_t + "] rate_hz: [" + rows_r + "] }", n, end_ms);
    std::vector<double> u;
    for (const auto& [t, i] : s) u.push_back(lambda(static_cast<double>(t) * 1e-6) / lambda(end_ms));
    const std::size_t m = u.size();
    MESSAGE(m, " spikes");
    const double mean = n * lambda(end_ms);
    const double z = (static_cast<double>(m) - mean) / std::sqrt(mean);
    CAPTURE(z);
    CHECK(std::abs(z) < 3.29);
    REQUIRE(m > 5000);
    std::sort(u.begin(), u.end());
    double d = 0;
    for (std::size_t k = 0; k < m; ++k)
        d = std::max({d, u[k] - static_cast<double>(k) / m, static_cast<double>(k + 1) / m - u[k]});
    CAPTURE(d);
    CHECK(d < 1.95 / std::sqrt(static_cast<double>(m)));
}

TEST_CASE("rate table: one row from 0 is the constant rate byte for byte, and a file equals the inline table") {
    for (const char* window : {"", "start_ms: 20 stop_ms: 180"}) {
        CAPTURE(window);
        const auto constant = poisson_spikes(std::string("rate_hz: 30 ") + window, 50, 300);
        REQUIRE(constant.size() > 100);
        CHECK(poisson_spikes(std::string("rate_table { t_ms: 0 rate_hz: 30 } ") + window, 50, 300) == constant);
    }
    spikeem::test::TempDir dir;
    dir.write("r.csv", "rate_hz,t_ms\n5,0\n\n20,100\n0,300.5\r\n");
    const auto inline_table = poisson_spikes("rate_table { t_ms: [0, 100, 300.5] rate_hz: [5, 20, 0] }", 50, 400);
    CHECK(poisson_spikes("rate_table { file: \"r.csv\" }", 50, 400, dir.path.string()) == inline_table);
}

TEST_CASE("rate table: malformed tables are rejected naming the field or the file's line") {
    spikeem::test::TempDir dir;
    const std::string base = dir.path.string();
    auto err = [&](const std::string& body) {
        return error_of("population { name: \"P\" size: 2 poisson { " + body + " } }\n", base);
    };
    const std::string t = "population \"P\".poisson.rate_table";
    CHECK(contains(err("rate_table {}"), t + ".t_ms: is empty: expected at least one row (a t_ms with its rate_hz)"));
    CHECK(contains(err("rate_table { t_ms: [0, 1] rate_hz: [1] }"), t + ".rate_hz: has 1 values for 2 t_ms: expected one per t_ms"));
    CHECK(contains(err("rate_table { t_ms: [0, 5, 5] rate_hz: [1, 2, 3] }"),
                   t + ".t_ms[2] = 5: must be > the previous t_ms = 5 (strictly increasing) (ms)"));
    CHECK(contains(err("rate_table { t_ms: [-1] rate_hz: [1] }"), t + ".t_ms[0] = -1: must be a finite time >= 0 (ms)"));
    CHECK(contains(err("rate_table { t_ms: [0, 1] rate_hz: [1, -2] }"), t + ".rate_hz[1] = -2: must be >= 0 (Hz)"));
    CHECK(contains(err("rate_table { t_ms: [0] rate_hz: [inf] }"), t + ".rate_hz[0] = inf: must be >= 0 (Hz)"));
    CHECK(contains(err("rate_hz: 3 rate_table { t_ms: [0] rate_hz: [1] }"),
                   "population \"P\".poisson.rate_table: replaces rate_hz, rate_slope_hz_per_s and rates_hz: give those "
                   "as 0 or leave them out"));
    CHECK(contains(err("rates_hz: [1, 2] rate_table { t_ms: [0] rate_hz: [1] }"), "rate_table: replaces rate_hz"));
    dir.write("r.csv", "t_ms,rate_hz\n0,1\n10,x\n10,2\n5,2\n");
    const std::string e = err("rate_table { file: \"r.csv\" }");
    CHECK(contains(e, t + ".file = \"r.csv\": line 3: rate_hz = \"x\": must be a number (Hz)"));
    CHECK(contains(e, t + ".file = \"r.csv\": line 5: t_ms = 5: must be > the previous t_ms = 10 (strictly increasing) (ms)"));
    dir.write("h.csv", "t,rate_hz\n0,1\n");
    CHECK(contains(err("rate_table { file: \"h.csv\" }"),
                   t + ".file = \"h.csv\": line 1: header \"t,rate_hz\": expected the columns t_ms and rate_hz once each, "
                       "in any order (e.g. \"t_ms,rate_hz\")"));
    dir.write("empty.csv", "t_ms,rate_hz\n");
    CHECK(contains(err("rate_table { file: \"empty.csv\" }"),
                   t + ".file = \"empty.csv\": has no rows: expected at least one line \"t_ms,rate_hz\" after the header"));
    CHECK(contains(err("rate_table { file: \"r.csv\" t_ms: 0 rate_hz: 1 }"),
                   t + ".file = \"r.csv\": replaces t_ms and rate_hz: give the table inline or in a file, not both"));
}

TEST_CASE("file inputs: the shipped example reads its files") {
    const fs::path dir = fs::path(SPIKEEM_SOURCE_DIR) / "examples" / "file_inputs";
    const LoadedSpec loaded = load_spec_file((dir / "file_inputs.pbtxt").string());
    REQUIRE(loaded.input_files.size() == 2);
    CHECK(loaded.input_files[0].path == "input_spikes.csv");
    CHECK(loaded.input_files[1].path == "rates.csv");
    // The inline table and rates.csv are the same table.
    CHECK(std::get<PoissonParams>(loaded.spec.populations[1].model).rate_table.t_ms ==
          std::get<PoissonParams>(loaded.spec.populations[2].model).rate_table.t_ms);
    CHECK(std::get<PoissonParams>(loaded.spec.populations[1].model).rate_table.rate_hz ==
          std::get<PoissonParams>(loaded.spec.populations[2].model).rate_table.rate_hz);
    const std::vector<Spike> s = spikes_of(loaded);
    CHECK(std::count_if(s.begin(), s.end(), [](const Spike& x) { return std::get<1>(x) == 0; }) == 120);
}

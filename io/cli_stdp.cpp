// `spikeem stdp-curve`: the STDP curve of a rule, measured on the full
// simulator with the experimental pairing protocol (and the pairing-frequency
// protocol of Sjostrom et al. 2001).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <tbb/global_control.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "io/cli_stdp.hpp"
#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"
#include "experiments/protocols.hpp"
#include "plasticity/presets.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// The rule from the options, written as a spec and validated by the spec
// loader, so that flags and specs obey one set of rules and messages (a flag
// --tau-plus-ms is the field tau_plus_ms).
std::pair<PlasticitySpec, double> rule_from_options(const StdpCurveOptions& o, const std::string& preset) {
    std::string rule;
    if (o.rule == "pair") {
        // Enum values are upper case in text format.
        std::string pairing = o.pairing;
        for (char& c : pairing) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        rule = fmt::format("pair_stdp {{ a_plus_mV: {} a_minus_mV: {} tau_plus_ms: {} tau_minus_ms: {} pairing: {} }}",
                           o.a_plus_mV, o.a_minus_mV, o.tau_plus_ms, o.tau_minus_ms, pairing);
    } else if (o.rule == "triplet") {
        rule = fmt::format("triplet_stdp {{ preset: \"{}\" }}", preset);
    } else {
        throw UsageError(fmt::format("--rule = \"{}\": expected pair or triplet", o.rule));
    }
    std::string dep;
    if (o.dependence == "additive") dep = "additive {}";
    else if (o.dependence == "multiplicative") dep = "multiplicative {}";
    else if (o.dependence == "guetig") dep = fmt::format("guetig {{ mu_plus: {} mu_minus: {} }}", o.mu_plus, o.mu_minus);
    else throw UsageError(fmt::format("--dependence = \"{}\": expected additive, multiplicative or guetig", o.dependence));
    std::string bounds = fmt::format("w_min_mV: {}", o.w_min_mV);
    if (o.w_max_mV) bounds += fmt::format(" w_max_mV: {}", *o.w_max_mV);
    std::string text = fmt::format(
        "population {{ name: \"pre\" size: 1 spike_times {{}} }}\n"
        "population {{ name: \"post\" size: 1 lif_delta {{}} }}\n"
        "projection {{ source: \"pre\" target: \"post\" all_to_all {{}} weight_mV {{ constant: {} }}\n"
        "  delay_ms {{ constant: {} }} dendritic_delay_ms: {}\n"
        "  plasticity {{ {} weight_dependence {{ {} }} {} }} }}\n",
        o.w0_mV.value_or(1.0), o.axonal_delay_ms, o.dendritic_delay_ms, rule, dep, bounds);
    LoadedSpec spec = load_spec_text(text, "stdp-curve options");
    const ProjectionSpec& pj = spec.spec.projections.at(0);
    return {*pj.plasticity, pj.dendritic_delay_ms};
}

std::pair<PlasticitySpec, double> rule_from_spec(const std::string& path) {
    LoadedSpec spec = load_spec_file(path);
    // The pairing protocols drive one synapse with spike pairs: spike-pair rules only.
    for (const auto& pj : spec.spec.projections)
        if (pj.plasticity && (std::holds_alternative<PairStdpParams>(pj.plasticity->rule) ||
                              std::holds_alternative<TripletStdpParams>(pj.plasticity->rule)))
            return {*pj.plasticity, pj.dendritic_delay_ms};
    throw SpecError(fmt::format("{}: no projection has a pair_stdp or triplet_stdp rule: stdp-curve measures "
                                "spike-pair rules (voltage_slope rules: spikeem eq1-curve)",
                                path));
}

// The options: the rule (from flags or --spec) and the protocol.
CommandLine stdp_command_line() {
    po::options_description rule("rule (or --spec)");
    rule.add_options()("rule", po::value<std::string>()->default_value("pair"), "pair or triplet")(
        "a-plus-mV", po::value<double>()->default_value(0.01), "pair: A+ (mV)")(
        "a-minus-mV", po::value<double>()->default_value(0.005), "pair: A- (mV); default makes int K ~ 0")(
        "tau-plus-ms", po::value<double>()->default_value(16.8), "pair: tau+ (ms), Bi & Poo fit")(
        "tau-minus-ms", po::value<double>()->default_value(33.7), "pair: tau- (ms), Bi & Poo fit")(
        "pairing", po::value<std::string>()->default_value("all_to_all"),
        "pair: all_to_all, nearest_symmetric or nearest_presynaptic_centred")(
        "preset", po::value<std::string>()->default_value("visual_all_to_all_full"),
        "triplet: parameter preset (listed below), or all: every preset (with --protocol frequency)")(
        "dependence", po::value<std::string>()->default_value("additive"), "additive, multiplicative or guetig")(
        "mu-plus", po::value<double>()->default_value(0.0), "guetig: mu+")(
        "mu-minus", po::value<double>()->default_value(0.0), "guetig: mu-")(
        "w-min-mV", po::value<double>()->default_value(0.0), "lower weight bound (mV)")(
        "w-max-mV", po::value<double>(), "upper weight bound (mV); default none")(
        "dendritic-delay-ms", po::value<double>()->default_value(0.0), "dendritic delay (ms)")(
        "spec", po::value<std::string>(), "take the rule (and dendritic delay) of the first plastic projection of a spec");
    po::options_description protocol("protocol");
    add_out_option(protocol);
    protocol.add_options()("protocol", po::value<std::string>()->default_value("pairing"),
                           "pairing: dw against dt; frequency: dw against pairing frequency at dt = +-dt-ms")(
        "dt-min-ms", po::value<double>()->default_value(-100.0), "pairing: first dt = t_post - t_pre (ms)")(
        "dt-max-ms", po::value<double>()->default_value(100.0), "pairing: last dt (ms)")(
        "dt-step-ms", po::value<double>()->default_value(1.0), "pairing: dt step (ms)")(
        "frequency-hz", po::value<double>()->default_value(1.0), "pairing: pair frequency (Hz)")(
        "frequencies-hz", po::value<std::string>()->default_value("0.1,1,5,10,20,30,40,50"),
        "frequency: comma-separated pair frequencies (Hz)")(
        "dt-ms", po::value<double>()->default_value(10.0), "frequency: |dt| (ms); both signs are run")(
        "pairings", po::value<int>()->default_value(60), "pairs per run")(
        "w0-mV", po::value<double>()->default_value(1.0), "initial weight (mV); dw_rel = dw / w0")(
        "axonal-delay-ms", po::value<double>()->default_value(1.0), "axonal delay (ms)");
    add_threads_option(protocol, 0, "worker threads (0: all cores); results do not depend on it");
    add_progress_options(protocol);
    protocol.add_options()("no-plot", "write the CSV only")(
        "plot-bi-poo", "stdp_curve.png: also draw the exponential fit to the data of Bi & Poo (1998), scaled to "
                       "the measured peak of each side (shape only)");
    add_help_option(protocol);
    CommandLine cmd("spikeem stdp-curve --out DIR [options]");
    cmd.options().add(rule).add(protocol);
    return cmd;
}

// The rule, the synapse and the pairs of every run, checked (`preset`: the
// triplet preset, when the rule comes from the options).
StdpRuleCurve pairing_protocol(const StdpCurveOptions& o, const std::string& preset) {
    StdpRuleCurve c;
    PairingProtocol& p = c.protocol;
    std::tie(p.rule, p.dendritic_delay_ms) = o.spec ? rule_from_spec(*o.spec) : rule_from_options(o, preset);
    p.w0_mV = o.w0_mV.value_or(1.0);
    // A rule taken from a spec brings its own bounds: without an explicit --w0-mV
    // start in the middle of them when the default lies outside.
    if (!o.w0_mV && !(p.w0_mV >= p.rule.w_min_mV && p.w0_mV <= p.rule.w_max_mV) &&
        std::isfinite(p.rule.w_min_mV) && std::isfinite(p.rule.w_max_mV)) {
        p.w0_mV = 0.5 * (p.rule.w_min_mV + p.rule.w_max_mV);
        c.w0_from_bounds = true;
    }
    p.axonal_delay_ms = o.axonal_delay_ms;
    p.pairings = o.pairings;
    if (p.pairings < 1 || p.pairings > 100000)
        throw UsageError(fmt::format("--pairings = {}: expected 1 to 100000", p.pairings));
    if (!(p.w0_mV >= p.rule.w_min_mV && p.w0_mV <= p.rule.w_max_mV))
        throw UsageError(fmt::format("--w0-mV = {}: must lie within the weight bounds [{}, {}] (mV)", p.w0_mV,
                                     p.rule.w_min_mV, p.rule.w_max_mV));
    if (!(p.w0_mV > 0 && p.w0_mV < 5.0))
        throw UsageError(fmt::format("--w0-mV = {}: expected in (0, 5) mV, so that dw_rel is defined and the "
                                     "plastic input alone cannot fire the neuron (15 mV below threshold)",
                                     p.w0_mV));
    if (!(p.axonal_delay_ms >= 0.001))
        throw UsageError(fmt::format("--axonal-delay-ms = {}: must be >= 0.001 (ms)", p.axonal_delay_ms));
    return c;
}

StdpSweep sweep_from(const StdpCurveOptions& o) {
    StdpSweep s{o.protocol, {}, {}};
    if (s.pairing()) {
        const double lo = o.dt_min_ms, hi = o.dt_max_ms, step = o.dt_step_ms;
        if (!(step > 0) || !(hi >= lo) || (hi - lo) / step > 1e5)
            throw UsageError(fmt::format("--dt-min-ms {} --dt-max-ms {} --dt-step-ms {}: expected min <= max, step > 0 "
                                         "and at most 100000 points",
                                         lo, hi, step));
        const auto n = static_cast<long>(std::floor((hi - lo) / step + 1e-9));
        for (long k = 0; k <= n; ++k) s.dts.push_back(std::round((lo + k * step) * 1e9) / 1e9);
        s.freqs = {o.frequency_hz};
    } else if (s.protocol == "frequency") {
        const double dt = std::abs(o.dt_ms);
        s.dts = {-dt, dt};
        s.freqs = o.frequencies_hz;
    } else {
        throw UsageError(fmt::format("--protocol = \"{}\": expected pairing or frequency", s.protocol));
    }
    for (double f : s.freqs)
        if (!(f > 0 && f <= 500))  // the forced neuron is refractory for 1 ms
            throw UsageError(fmt::format("frequency {} Hz: expected in (0, 500] Hz", f));
    return s;
}

std::string rule_json(const PlasticitySpec& rule) {
    if (auto* q = std::get_if<PairStdpParams>(&rule.rule))
        return fmt::format(
            "{{\"rule\": \"pair_stdp\", \"a_plus_mV\": {}, \"a_minus_mV\": {}, \"tau_plus_ms\": {}, \"tau_minus_ms\": {}, "
            "\"pairing\": {}}}",
            q->a_plus_mV, q->a_minus_mV, q->tau_plus_ms, q->tau_minus_ms, static_cast<int>(q->pairing));
    const auto& t = std::get<TripletStdpParams>(rule.rule);
    return fmt::format(
        "{{\"rule\": \"triplet_stdp\", \"a2_plus_mV\": {}, \"a3_plus_mV\": {}, \"a2_minus_mV\": {}, \"a3_minus_mV\": {}, "
        "\"tau_plus_ms\": {}, \"tau_minus_ms\": {}, \"tau_x_ms\": {}, \"tau_y_ms\": {}, \"nearest_spike\": {}}}",
        t.a2_plus_mV, t.a3_plus_mV, t.a2_minus_mV, t.a3_minus_mV, t.tau_plus_ms, t.tau_minus_ms, t.tau_x_ms,
        t.tau_y_ms, t.nearest_spike);
}

// What the plot script and a reader need besides the table: the protocol, the
// synapse, and (pairing protocol) the frequency, so that the rule's own
// prediction can be drawn; `preset` is "" unless the rule is a named preset.
std::string protocol_json(const PairingProtocol& p, const StdpSweep& s, const std::string& preset, bool bi_poo,
                          std::size_t points, double wall) {
    return fmt::format(
        "{{\n  \"spikeem_version\": \"{}\",\n  \"protocol\": \"{}\",\n  \"preset\": \"{}\",\n  \"rule\": {},\n"
        "  \"mu_plus\": {},\n  \"mu_minus\": {},\n  \"w_min_mV\": {},\n  \"w_max_mV\": {},\n  \"w0_mV\": {},\n"
        "  \"pairings\": {},\n  \"frequency_hz\": {},\n  \"axonal_delay_ms\": {},\n  \"dendritic_delay_ms\": {},\n"
        "  \"plot_bi_poo\": {},\n  \"points\": {},\n  \"wall_time_s\": {}\n}}\n",
        version(), s.protocol, preset, rule_json(p.rule), p.rule.dependence.mu_plus, p.rule.dependence.mu_minus,
        p.rule.w_min_mV, std::isfinite(p.rule.w_max_mV) ? fmt::format("{}", p.rule.w_max_mV) : "null", p.w0_mV,
        p.pairings, s.pairing() ? fmt::format("{}", s.freqs.at(0)) : "null", p.axonal_delay_ms,
        p.dendritic_delay_ms, bi_poo, points, wall);
}

// The curve (stdp_curve.csv or stdp_frequency.csv) and stdp_curve.json.
void write_stdp_outputs(const fs::path& out, const StdpCurveResult& r, bool bi_poo) {
    const StdpSweep& s = r.sweep;
    fs::create_directories(out);
    OutputSet files(out);
    auto& csv = files.add(s.pairing() ? "stdp_curve.csv" : "stdp_frequency.csv");
    csv << (s.pairing() ? "dt_ms,dw,dw_rel\n" : "frequency_hz,dt_ms,dw,dw_rel\n");
    for (const auto& q : r.rules.at(0).results) {
        if (s.pairing())
            csv << fmt::format("{},{},{}\n", q.dt_ms, q.dw_mV, q.dw_rel);
        else
            csv << fmt::format("{},{},{},{}\n", q.frequency_hz, q.dt_ms, q.dw_mV, q.dw_rel);
    }
    files.add("stdp_curve.json") << stdp_protocol_json(r, r.rules.at(0), bi_poo);
    files.commit();
}

// The frequency table of one rule.
void print_frequency_table(const StdpSweep& s, const std::vector<PairingResult>& results) {
    fmt::print("  {:>10} {:>14} {:>14}\n", "f (Hz)", "dw_rel(-dt)", "dw_rel(+dt)");
    for (std::size_t i = 0; i < s.freqs.size(); ++i)
        fmt::print("  {:>10} {:>+14.4e} {:>+14.4e}\n", s.freqs[i], results[2 * i].dw_rel, results[2 * i + 1].dw_rel);
}

// A few points of the curve, or the whole frequency table.
void print_stdp_summary(const StdpCurveResult& r, const fs::path& out) {
    const StdpSweep& s = r.sweep;
    const StdpRuleCurve& c = r.rules.at(0);
    fmt::print("{} {} runs ({} pairings each) in {:.3f} s wall\n", c.results.size(), s.protocol, c.protocol.pairings,
               r.wall_s);
    if (s.pairing()) {
        for (double show : {-50.0, -10.0, -1.0, 1.0, 10.0, 50.0})
            for (const auto& q : c.results)
                if (std::abs(q.dt_ms - show) < 1e-9)
                    fmt::print("  dt {:>6} ms: dw {:+.6e} mV ({:+.4f} %)\n", q.dt_ms, q.dw_mV, 100 * q.dw_rel);
    } else {
        print_frequency_table(s, c.results);
    }
    fmt::print("outputs in {}\n", out.string());
}

// --preset all: one table stdp_frequency_presets.csv (preset,frequency_hz,dt_ms,dw,dw_rel)
// and its provenance stdp_frequency_presets.json.
void write_all_presets(const StdpCurveResult& r, const fs::path& out) {
    fs::create_directories(out);
    OutputSet files(out);
    auto& csv = files.add("stdp_frequency_presets.csv");
    auto& json = files.add("stdp_frequency_presets.json");
    csv << "preset,frequency_hz,dt_ms,dw,dw_rel\n";
    json << "[\n";
    for (std::size_t k = 0; k < r.rules.size(); ++k) {
        const StdpRuleCurve& c = r.rules[k];
        for (const auto& q : c.results)
            csv << fmt::format("{},{},{},{},{}\n", c.preset, q.frequency_hz, q.dt_ms, q.dw_mV, q.dw_rel);
        json << stdp_protocol_json(r, c, false) << (k + 1 < r.rules.size() ? ",\n" : "]\n");
        fmt::print("{} ({}):\n", c.preset, triplet_presets()[k].source);
        print_frequency_table(r.sweep, c.results);
    }
    files.commit();
    fmt::print("{} presets x {} runs ({} pairings each) in {:.3f} s wall; outputs in {}\n", r.rules.size(),
               r.sweep.dts.size() * r.sweep.freqs.size(), r.rules.at(0).protocol.pairings, r.wall_s, out.string());
}

// The options from the flags (--frequencies-hz is read only by the frequency protocol).
StdpCurveOptions stdp_options(const po::variables_map& vm) {
    StdpCurveOptions o;
    auto d = [&](const char* name) { return vm[name].as<double>(); };
    o.rule = vm["rule"].as<std::string>();
    o.a_plus_mV = d("a-plus-mV");
    o.a_minus_mV = d("a-minus-mV");
    o.tau_plus_ms = d("tau-plus-ms");
    o.tau_minus_ms = d("tau-minus-ms");
    o.pairing = vm["pairing"].as<std::string>();
    o.preset = vm["preset"].as<std::string>();
    o.dependence = vm["dependence"].as<std::string>();
    o.mu_plus = d("mu-plus");
    o.mu_minus = d("mu-minus");
    o.w_min_mV = d("w-min-mV");
    if (vm.count("w-max-mV")) o.w_max_mV = d("w-max-mV");
    o.dendritic_delay_ms = d("dendritic-delay-ms");
    if (vm.count("spec")) o.spec = vm["spec"].as<std::string>();
    o.protocol = vm["protocol"].as<std::string>();
    o.dt_min_ms = d("dt-min-ms");
    o.dt_max_ms = d("dt-max-ms");
    o.dt_step_ms = d("dt-step-ms");
    o.frequency_hz = d("frequency-hz");
    if (o.protocol == "frequency") o.frequencies_hz = number_list("frequencies-hz", vm["frequencies-hz"].as<std::string>());
    o.dt_ms = d("dt-ms");
    o.pairings = vm["pairings"].as<int>();
    if (!vm["w0-mV"].defaulted()) o.w0_mV = d("w0-mV");
    o.axonal_delay_ms = d("axonal-delay-ms");
    o.threads = vm["threads"].as<int>();
    o.progress = progress_mode(vm);
    return o;
}

}  // namespace

StdpCurveResult run_stdp_curve(const StdpCurveOptions& o) {
    StdpCurveResult r;
    r.sweep = sweep_from(o);
    const tbb::global_control limit = thread_limit(o.threads);
    r.all_presets = o.preset == "all";
    const auto t0 = std::chrono::steady_clock::now();
    if (r.all_presets) {
        if (!r.sweep.pairing() && !o.spec && o.rule == "triplet") {
            for (const auto& preset : triplet_presets()) {
                r.rules.push_back(pairing_protocol(o, preset.name));
                r.rules.back().preset = preset.name;
            }
        } else {
            throw UsageError("--preset all: needs --rule triplet --protocol frequency and no --spec");
        }
    } else {
        r.rules.push_back(pairing_protocol(o, o.preset));
        if (!o.spec && o.rule == "triplet") r.rules[0].preset = find_triplet_preset(o.preset)->name;
    }
    const std::size_t runs = r.sweep.dts.size() * r.sweep.freqs.size();
    ProgressReporter progress("stdp-curve", static_cast<double>(runs * r.rules.size()),
                              ProgressUnit::count("runs"), o.progress);
    for (std::size_t k = 0; k < r.rules.size(); ++k) {
        StdpRuleCurve& c = r.rules[k];
        ProgressCallback done;  // runs of earlier rules count too
        if (o.progress != ProgressMode::Never)
            done = [&progress, before = k * runs](std::size_t n, std::size_t) { progress.update(double(before + n)); };
        c.results = run_pairings(c.protocol, r.sweep.dts, r.sweep.freqs, done);
    }
    progress.finish();
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

std::string stdp_protocol_json(const StdpCurveResult& r, const StdpRuleCurve& c, bool plot_bi_poo) {
    return protocol_json(c.protocol, r.sweep, c.preset, plot_bi_poo, c.results.size(), r.wall_s);
}

int cmd_stdp_curve(const std::vector<std::string>& args) {
    const CommandLine cmd = stdp_command_line();
    const po::variables_map vm = cmd.parse(args);
    if (vm.count("help"))
        return cmd.print_help(fmt::format(
            "Pairing protocol on the full simulator: one presynaptic source, one LIF neuron forced to fire\n"
            "at t_pre + dt (times at the synapse), `pairings` pairs at `frequency-hz`; each point is an\n"
            "independent simulation, run in parallel.  Writes DIR/stdp_curve.csv (dt_ms,dw,dw_rel) or\n"
            "DIR/stdp_frequency.csv (frequency_hz,dt_ms,dw,dw_rel), DIR/stdp_curve.json (provenance) and\n"
            "a PNG plot (python3 with matplotlib) with the rule's own prediction for the protocol.\n"
            "--rule triplet --preset all --protocol frequency runs every preset: DIR/stdp_frequency_presets.csv\n"
            "(preset,frequency_hz,dt_ms,dw,dw_rel), .json and .png.\n\n"
            "Triplet presets (Pfister & Gerstner 2006: visual cortex Table 3, hippocampus Table 4; see\n"
            "docs/science.md, \"Triplet presets\"): {}\n",
            triplet_preset_names()));
    const StdpCurveResult r = run_stdp_curve(stdp_options(vm));
    const fs::path out = vm["out"].as<std::string>();
    if (r.all_presets) {
        write_all_presets(r, out);
    } else {
        const PairingProtocol& p = r.rules.at(0).protocol;
        if (r.rules.at(0).w0_from_bounds)
            fmt::print("w0 = {} mV, the middle of the rule's bounds [{}, {}] mV\n", p.w0_mV, p.rule.w_min_mV,
                       p.rule.w_max_mV);
        write_stdp_outputs(out, r, vm.count("plot-bi-poo") > 0);
        print_stdp_summary(r, out);
    }
    if (!vm.count("no-plot")) return run_plot_script("stdp/plot_stdp_curve.py", out);
    return kExitOk;
}

}  // namespace spikeem::io

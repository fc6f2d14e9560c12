#pragma once
// Plain domain description of a network: what io/ produces from a protobuf
// spec after validation, and what Simulation builds from.  No protobuf here.
// Contract: a NetworkSpec handed to Simulation has passed io's validation
// (names resolve, sizes and ranges are consistent, values are in range).
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "plasticity/params.hpp"

namespace spikeem {

struct UniformDist {
    double low = 0.0, high = 0.0;  // [low, high)
};
// Normal, clipped to [low, high] (not redrawn): no loop, no surprise tail.
struct NormalDist {
    double mean = 0.0, std = 0.0;
    double low = -std::numeric_limits<double>::infinity();
    double high = std::numeric_limits<double>::infinity();
};
using Distribution = std::variant<double, UniformDist, NormalDist>;

struct LifDeltaParams {
    double tau_m_ms = 10.0;
    double v_rest_mV = -70.0;
    double v_reset_mV = -70.0;
    double v_th_mV = -55.0;
    double t_ref_ms = 2.0;
    Distribution v_init_mV = -70.0;
};

// Leaky integrate-and-fire with exponential synaptic currents (Brian2's CUBA
// convention: the currents are in mV, i.e. already multiplied by the membrane
// resistance):
//   tau_m dV/dt = -(V - v_rest) + g_e + g_i,  dg_e/dt = -g_e/tau_e,  dg_i/dt = -g_i/tau_i;
//   an input of weight w > 0 adds w to g_e, w <= 0 adds w to g_i;
//   V >= v_th: spike, V = v_reset and held there during [t_spike, t_spike + t_ref),
//   while g_e and g_i keep decaying and keep integrating inputs (as Brian2's
//   `(unless refractory)` on V only).  g_e = g_i = 0 at t = 0.
// Contract: tau_e and tau_i differ from tau_m (the closed form divides by the difference).
struct LifExpParams {
    double tau_m_ms = 20.0;
    double tau_e_ms = 5.0;
    double tau_i_ms = 10.0;
    double v_rest_mV = -70.0;
    double v_reset_mV = -70.0;
    double v_th_mV = -55.0;
    double t_ref_ms = 2.0;
    Distribution v_init_mV = -70.0;
};

// Leaky integrate-and-fire with exponential synaptic conductances (Brette et al.
// 2007, benchmark 1 (COBA); NEST's iaf_cond_exp, Brian2's COBA):
//   tau_m dV/dt = -(V - v_rest) - g_e (V - e_e) - g_i (V - e_i),
//   dg_e/dt = -g_e/tau_e,  dg_i/dt = -g_i/tau_i  (g in units of the leak conductance),
//   tau_m = C / g_leak;  an input of weight w (nS) adds w / g_leak to g_e if w > 0,
//   |w| / g_leak to g_i if w < 0 (w = 0: nothing);
//   V >= v_th: spike, V = v_reset and held during [t_spike, t_spike + t_ref) while
//   g_e and g_i keep decaying and integrating inputs.  g_e = g_i = 0 at t = 0.
// The defaults are Brette et al.'s COBA neuron (C = 200 pF, g_leak = 10 nS).
struct LifCondExpParams {
    double tau_m_ms = 20.0;
    double g_leak_nS = 10.0;
    double tau_e_ms = 5.0;
    double tau_i_ms = 10.0;
    double e_e_mV = 0.0;
    double e_i_mV = -80.0;
    double v_rest_mV = -60.0;
    double v_reset_mV = -60.0;
    double v_th_mV = -50.0;
    double t_ref_ms = 5.0;
    Distribution v_init_mV = -60.0;
};

// Adaptive exponential integrate-and-fire (Brette & Gerstner 2005; the
// current-based form of NEST's aeif_psc_delta and Brian2's AdEx examples):
//   C dV/dt = -g_leak (V - e_leak) + g_leak delta_t exp((V - v_t)/delta_t) - w + i_e,
//   tau_w dw/dt = a (V - e_leak) - w;
//   an input of weight w (mV) jumps V by w (delta synapses, as lif_delta);
//   V >= v_peak: spike, V = v_reset, w += b; V held at v_reset during
//   [t_spike, t_spike + t_ref) while w integrates on (inputs then are lost).
// Units: pF, nS, mV, ms, pA (nS mV = pA, pA / pF = mV/ms).  The defaults are
// Brette & Gerstner's, with NEST's v_peak = 0 mV.
// Contract: delta_t > 0, v_peak > v_t, (v_peak - v_t) / delta_t <= 500, v_reset < v_peak.
struct AdExParams {
    double c_pF = 281.0;
    double g_leak_nS = 30.0;
    double e_leak_mV = -70.6;
    double v_t_mV = -50.4;
    double delta_t_mV = 2.0;
    double a_nS = 4.0;
    double tau_w_ms = 144.0;
    double b_pA = 80.5;
    double v_reset_mV = -70.6;
    double v_peak_mV = 0.0;
    double t_ref_ms = 0.0;
    double i_e_pA = 0.0;
    Distribution v_init_mV = -70.6;
    double w_init_pA = 0.0;
};

// Stochastic rate neuron (the science's neuron):
//   tau_m dV/dt = -(V - mu(t)) + tau_m I(t) + noise,   mu(t) = v_rest + drive + drive_slope * t,
//   inputs: V += w (tau_syn = 0) or I += w / tau_syn (exponential current, same charge),
//   noise: Ornstein-Uhlenbeck with stationary std noise_sigma_mV,
//   spikes: inhomogeneous Poisson with rate rho(V) = rho_max sigmoid(beta (V - theta)),
//           or rho_max clip(beta (V - theta), 0, 1) (hard sigmoid: linear between its kinks,
//           the rate function of Equilibrium Propagation, docs/science.md section 4),
//           or rho_max softplus(beta (V - theta)), softplus(u) = log(1 + e^u) (unbounded:
//           rho_max is the rate at softplus = 1; the softplus units of the variational-EM
//           model, experiments/vem/spiking.hpp; needs noise_sigma = 0, as a noisy V has no
//           bound for the spike thinning),
//   optional reset to v_reset after a spike, no spike during t_ref after one.
enum class RateFunction { Sigmoid, HardSigmoid, Softplus };
struct StochasticParams {
    double tau_m_ms = 10.0;
    double v_rest_mV = 0.0;
    double drive_mV = 0.0;
    double drive_slope_mV_per_ms = 0.0;
    double tau_syn_ms = 0.0;  // 0: voltage jumps
    double noise_sigma_mV = 0.0;
    double rho_max_hz = 200.0;
    double beta_per_mV = 10.0;
    double theta_mV = 1.0;
    RateFunction rate_function = RateFunction::Sigmoid;
    std::optional<double> v_reset_mV;
    double t_ref_ms = 0.0;
    Distribution v_init_mV = 0.0;
};

// A piecewise-constant rate over time: rate_hz[k] in [t_ms[k], t_ms[k + 1]),
// the last rate from t_ms.back() on, 0 before t_ms[0].
// Contract: as many rates as times (empty: no table); times finite, >= 0 and
// strictly increasing; rates finite and >= 0.
struct PoissonRateTable {
    std::vector<double> t_ms;
    std::vector<double> rate_hz;
};

// Rate rate_hz + rate_slope_hz_per_s * t (t in s from 0, clipped at 0 Hz) in [start_ms, stop_ms),
// or the rate table when it has rows (rate_hz, rate_slope_hz_per_s and rates_hz are then 0 / empty).
struct PoissonParams {
    double rate_hz = 0.0;
    double start_ms = 0.0;
    double stop_ms = std::numeric_limits<double>::infinity();  // exclusive
    double rate_slope_hz_per_s = 0.0;
    std::vector<double> rates_hz;  // per neuron (constant rates); empty: rate_hz for all
    // Initialised here so that positional braces that stop at rates_hz stay warning-free.
    PoissonRateTable rate_table = {};
};

struct SpikeTimesParams {
    // Per neuron, any order; neurons past the end have no spikes (so that a
    // huge population with few trains costs nothing per neuron).
    std::vector<std::vector<double>> times_ms;
};

// Neuron i's train in `times_ms`, the list grown to reach it.
inline std::vector<double>& train_of(std::vector<std::vector<double>>& times_ms, std::uint32_t i) {
    if (times_ms.size() <= i) times_ms.resize(std::size_t{i} + 1);
    return times_ms[i];
}

// One alternative per neuron model or source; network/models/registry.hpp
// names each one and builds its population.
using PopulationModel = std::variant<LifDeltaParams, PoissonParams, SpikeTimesParams, StochasticParams, LifExpParams,
                                    LifCondExpParams, AdExParams>;

// A neuron parameter drawn per neuron instead of one value for the whole
// population (Population.per_neuron in the spec): `parameter` is the field's
// name in the model's message (e.g. "v_th_mV"), `value` in its unit.
struct ParameterSpread {
    std::string parameter;
    Distribution value;
};

struct PopulationSpec {
    std::string name;
    std::uint32_t size = 0;
    PopulationModel model;
    std::vector<ParameterSpread> per_neuron = {};  // default none: every neuron has the model's values
    // The model's v_init_mV was not given while its rest, threshold or reset
    // level varies per neuron: each neuron starts at its own rest level (its
    // reset level if it rests at or above threshold).
    bool v_init_at_rest = false;
    // Some current input targets the population (Network sets this from
    // NetworkSpec::current_inputs before building it; a spec need not).
    bool takes_current = false;
};

struct NeuronRange {
    std::uint32_t begin = 0, end = 0;  // [begin, end)
};

struct AllToAll {};
struct OneToOne {};
struct FixedProbability {
    double p = 0.0;
};
struct FixedIndegree {
    std::uint32_t indegree = 0;  // distinct sources per target
};
struct ExplicitPair {
    std::uint32_t pre = 0, post = 0;  // indices within the (sub)populations
    std::optional<double> weight_mV;
    std::optional<double> delay_ms;
};
struct ExplicitPairs {
    std::vector<ExplicitPair> pairs;
};
using Connectivity = std::variant<AllToAll, OneToOne, FixedProbability, FixedIndegree, ExplicitPairs>;

struct ProjectionSpec {
    std::string name;  // unique; defaults to "source->target"
    std::string source, target;
    std::optional<NeuronRange> source_range, target_range;
    Connectivity connectivity = AllToAll{};
    Distribution weight_mV = 0.0;
    Distribution delay_ms = 1.0;  // axonal delay: the spike reaches the synapse
    // Dendritic delay: the PSP needs it from synapse to soma, and a
    // postsynaptic spike needs it to reach the synapse.
    double dendritic_delay_ms = 0.0;
    bool allow_autapses = false;  // only meaningful when source == target
    std::optional<PlasticitySpec> plasticity;
    // Non-empty: the transpose of that (earlier) projection, sharing its weights;
    // connectivity and weight_mV are unused, ranges, autapses and plasticity are
    // the partner's (swapped), filled in by the loader.
    std::string transpose_of;
};

// Every probe records only in its window [start_ms, stop_ms) (times rounded
// to the resolution); probes that sample every interval_ms keep the grid of
// multiples of interval_ms from t = 0, so a windowed probe records exactly
// the samples of the same probe without a window that fall in the window
// (unless reading V draws noise, as on noisy stochastic neurons: fewer reads
// then give the same statistics along another path).
struct RecordWindow {
    double start_ms = 0.0;
    double stop_ms = std::numeric_limits<double>::infinity();  // exclusive
};

struct VoltageProbeSpec {
    std::string population;
    std::vector<std::uint32_t> neurons;  // empty = all
    double interval_ms = 1.0;
};

// Weights of chosen synapses (pre, post) of a projection, or all of them.
struct WeightProbeSpec {
    std::string projection;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;  // empty = all synapses
    double interval_ms = 1.0;
};

// Firing rates of chosen neurons every interval_ms (from t = 0), in Hz.
//   Count: spikes in [t - window_ms, t) / window_ms;
//   Exp:   the exponentially filtered spike train x (jumps by 1 at each spike,
//          decays with tau_ms) / tau_ms, read just before t (spikes at t count
//          from the next sample on, as for Count);
//   Model: the model's own rho(V(t)) (populations that have one: stochastic).
// Count and Exp see no spikes before t = 0: they start biased low for about a
// window / a few tau.
enum class RateReadout { Count, Exp, Model };
struct RateProbeSpec {
    std::string population;
    std::vector<std::uint32_t> neurons;  // empty = all
    double interval_ms = 1.0;
    RateReadout readout = RateReadout::Count;
    double window_ms = 100.0;  // Count only
    double tau_ms = 100.0;     // Exp only
};

// The spikes of chosen neurons of a population (all: empty) in a window.
struct SpikeProbeSpec {
    std::string population;
    std::vector<std::uint32_t> neurons;  // empty = all; distinct
    RecordWindow window;
};

// The binned firing rate of a population or of chosen neurons of it: bin k
// covers [start + k bin, start + (k + 1) bin) and its rate is
//   spikes of those neurons in the bin * 1000 / (n * bin_ms)   (Hz, n = neurons watched),
// counted as the spikes happen (no spike is stored).  Only whole bins that
// end by stop_ms and by the end of the run are reported.  A bin of bin_ms
// rounded to the resolution: the rate divides by that.
struct PopulationRateProbeSpec {
    std::string population;
    std::vector<std::uint32_t> neurons;  // empty = all; distinct
    double bin_ms = 1.0;
    RecordWindow window;
};

// The recorded spikes are every spike some spike recorder wants (once, however
// many want it): all of spike_populations' and those the spike probes watch.
// The windows of the sampling probes sit beside them, index for index (a
// shorter list: no window for the rest), so that code building probe structs
// with positional braces keeps compiling as it did.  A rate probe's window
// limits its samples only: Count and Exp see every spike.
struct RecordSpec {
    std::vector<std::string> spike_populations;
    std::vector<VoltageProbeSpec> voltages;
    std::vector<WeightProbeSpec> weights;
    std::vector<RateProbeSpec> rates;
    std::vector<SpikeProbeSpec> spike_probes;
    std::vector<PopulationRateProbeSpec> population_rates;
    std::vector<RecordWindow> voltage_windows, weight_windows, rate_windows;
};

// The window of probe k of a list of sampling probes.
inline RecordWindow window_of(const std::vector<RecordWindow>& windows, std::size_t k) {
    return k < windows.size() ? windows[k] : RecordWindow{};
}

struct SupervisedObjectiveSpec {
    std::string input, output, projection;
    std::vector<double> target_mV;
    double nudge_per_ms = 0.1;
    double free_ms = 100.0, nudge_ms = 50.0;
    // Gaussian-layer M-step instead of the supervised cost: J = log N(y; V, sigma^2).
    bool gaussian = false;
    double sigma_mV = 1.0;
};

// The energy-based layered network of Equilibrium Propagation (docs/science.md
// section 4, Scellier & Bengio 2017) in stochastic neurons with the hard
// sigmoid: unit j's state is s_j = beta_v (V_j - theta), its rate rho_max clip(s_j, 0, 1).
// layers[0] is the clamped input (Poisson, x = rate / rho_max), the others are
// free; projections[k] connects layer k to k + 1, and for k >= 1 its transpose
// carries the symmetric feedback.  The run alternates a free phase (learning
// off) and a nudged phase (learning on; output j's drive raised by
// beta (y_j - rho(s_j)) / beta_v with s_j measured in the free phase); with
// `symmetric`, every other nudge uses -beta and the rule's sign flipped.
struct EnergyObjectiveSpec {
    std::vector<std::string> layers, projections;
    std::vector<double> target;  // y in [0, 1], one per output neuron
    double beta = 0.1;
    double free_ms = 100.0, nudge_ms = 50.0;
    bool symmetric = false;
};

struct ObjectiveSpec {
    std::variant<SupervisedObjectiveSpec, EnergyObjectiveSpec> kind;
    double free_ms() const {
        return std::visit([](const auto& k) { return k.free_ms; }, kind);
    }
    double nudge_ms() const {
        return std::visit([](const auto& k) { return k.nudge_ms; }, kind);
    }
    std::string name() const {
        if (const auto* s = std::get_if<SupervisedObjectiveSpec>(&kind)) return s->gaussian ? "gaussian_layer" : "supervised";
        return "energy";
    }
};

struct RunSpec {
    double duration_ms = 1000.0;
    std::uint64_t seed = 1;
    int time_digits = 6;  // 1 tick = 10^-time_digits ms (6: 1 ns)
};

// Independent Poisson input to every neuron of a range of a population, with
// no source population and no projection: each target neuron receives
// `sources` independent Poisson trains of rate_hz in [start_ms, stop_ms), each
// input adding weight_mV as a synapse of the target model would.  Their sum
// is one Poisson train of rate sources * rate_hz per neuron, drawn exactly.
struct PoissonInputSpec {
    std::string name;    // the key of its random streams
    std::string target;  // a neuron population
    std::optional<NeuronRange> target_range;  // default: the whole population
    double rate_hz = 0.0;
    std::uint32_t sources = 1;
    double weight_mV = 0.0;
    double start_ms = 0.0;
    double stop_ms = std::numeric_limits<double>::infinity();
};

// A current injected into every neuron of a range of a LIF population
// (lif_delta, lif_exp, lif_cond_exp), in mV: R I, the depolarisation the current
// would hold the membrane at on its own (tau_m dV/dt = -(V - v_rest) + R I + ...).
// It moves each neuron's rest level while it flows, so the integration stays
// exact.  Several inputs into one neuron add up.
struct DcCurrent {
    Distribution amplitude_mV = 0.0;  // drawn once per neuron
};
// amplitude_mV[k] from t_ms[k] (increasing) to t_ms[k + 1] (the last to stop_ms).
struct StepCurrent {
    std::vector<double> t_ms, amplitude_mV;
};
// An Ornstein-Uhlenbeck current sampled exactly at start + k dt_ms and held
// constant in between (NEST's noise_generator with OU-correlated values):
// mean_mV, stationary std sigma_mV, correlation time tau_ms; independent per neuron.
struct OuCurrent {
    double mean_mV = 0.0, sigma_mV = 0.0, tau_ms = 1.0, dt_ms = 0.1;
};
struct CurrentInputSpec {
    std::string name;    // the key of its random streams
    std::string target;  // a population whose model takes currents (model_takes_current)
    std::optional<NeuronRange> target_range;  // default: the whole population
    std::variant<DcCurrent, StepCurrent, OuCurrent> kind;
    double start_ms = 0.0;
    double stop_ms = std::numeric_limits<double>::infinity();  // exclusive: the current is 0 from here
};

struct NetworkSpec {
    std::string name;
    RunSpec run;
    std::vector<PopulationSpec> populations;
    std::vector<ProjectionSpec> projections;
    std::vector<PoissonInputSpec> poisson_inputs;
    std::vector<CurrentInputSpec> current_inputs;
    RecordSpec record;
    std::optional<ObjectiveSpec> objective;
};

}  // namespace spikeem

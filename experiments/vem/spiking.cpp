#include "experiments/vem/spiking.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "experiments/gradcheck.hpp"
#include "network/simulation.hpp"
#include "sim/random.hpp"

namespace spikeem::vem {

namespace {

// Before the inference the map populations sit at -40 mV (drive and V): rate
// R e^-40, i.e. silent; the h populations sit at 0, where their rate is 0.
constexpr double kQuiet_mV = 40.0;
// h2 integrates without leak; the stochastic neuron needs a finite tau_m, and
// 1e9 ms changes V by 1e-6 of itself per second.
constexpr double kNoLeak_ms = 1e9;
// The inference starts this long before step_ms, so that the read-outs (at the
// multiples of step_ms) see each iteration's end just after it.
constexpr double kLead_ms = 1e-3;

// Populations.  x and f1x exist with spiking_f1x, x and the M-step's learners
// (*_learn) with the M-step; streams are keyed by population name, so the
// learners shift no draw of the others: the inference is the same with or
// without them.  Layout maps each to its index in the network (absent: npos).
enum Pop : std::size_t { kInit, kH1, kH2, kF2H1, kG2H2, kF2G2, kG1H1, kF1G1, kX, kF1X,
                         kF1XL, kF2H1L, kG2H2L, kG1H1L, kPopCount };
constexpr const char* kPopNames[] = {"init", "h1",  "h2",  "f2h1", "g2h2", "f2g2", "g1h1", "f1g1",
                                     "x",    "f1x", "f1x_learn", "f2h1_learn", "g2h2_learn", "g1h1_learn"};

struct Layout {
    std::array<std::size_t, kPopCount> at;
    explicit Layout(const Simulation& sim) {
        at.fill(static_cast<std::size_t>(-1));
        for (std::size_t i = 0; i < sim.num_populations(); ++i)
            for (std::size_t p = 0; p < kPopCount; ++p)
                if (sim.population(i).name() == kPopNames[p]) at[p] = i;
    }
    std::size_t operator[](Pop p) const { return at[p]; }
};

// Read-out probes, in this order.
enum Probe : std::uint32_t { kH1Model, kH2Model, kH1Exp, kH2Exp };

double start_ms(const SpikingSettings& s) { return s.step_ms - kLead_ms; }
double tau_ms(const SpikingSettings& s) { return s.step_ms / s.inference.delta; }
double filter_ms(const SpikingSettings& s) { return s.filter_ms > 0 ? s.filter_ms : s.step_ms / 4.0; }

void check(const Model& m, const Vector& x, const SpikingSettings& s) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("vem spiking settings: " + what); };
    if (x.size() != m.n_x()) fail("x has " + std::to_string(x.size()) + " pixels, the model " + std::to_string(m.n_x()));
    if (!(s.inference.delta > 0) || !(s.inference.alpha > 0) || s.inference.steps < 1)
        fail("inference needs delta > 0, alpha > 0 (alpha is h1's leak) and steps >= 1");
    if (!(s.delay_ms > 0) || !(s.step_ms > s.delay_ms + kLead_ms))
        fail("needs delay_ms > 0 and step_ms > delay_ms + 0.001 (got step_ms " + std::to_string(s.step_ms) + ")");
    if (!(s.rate_max_hz > 0) || !(s.h2_max > s.h2_min) || !(s.h1_below >= 0))
        fail("needs rate_max_hz > 0, h2_max > h2_min and h1_below >= 0");
}

RateFunction rate_function(Activation a) {
    return a == Activation::softplus ? RateFunction::Softplus : RateFunction::Sigmoid;
}

double act(Activation a, double v) {
    if (a == Activation::softplus) return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v)));
    return 1.0 / (1.0 + std::exp(-v));
}

double act_prime(Activation a, double v) {
    const double s = 1.0 / (1.0 + std::exp(-v));
    return a == Activation::softplus ? s : s * (1.0 - s);
}

// h1, h2: V = h, rate R clip((V - lo) / (hi - lo), 0, 1); silent at V = lo until the inference starts.
PopulationSpec hidden_population(Pop p, Eigen::Index n, double tau_m_ms, double lo, double hi, const SpikingSettings& s) {
    StochasticParams sp;
    sp.tau_m_ms = tau_m_ms;
    sp.drive_mV = lo;
    sp.rho_max_hz = s.rate_max_hz;
    sp.beta_per_mV = 1.0 / (hi - lo);
    sp.theta_mV = lo;
    sp.rate_function = RateFunction::HardSigmoid;
    sp.v_init_mV = lo;
    return PopulationSpec{kPopNames[p], static_cast<std::uint32_t>(n), sp};
}

// A map's output: V = the pre-activation of filtered inputs, rate R act(V).
PopulationSpec map_population(Pop p, Eigen::Index n, Activation a, const SpikingSettings& s) {
    StochasticParams sp;
    sp.tau_m_ms = filter_ms(s);
    sp.drive_mV = -kQuiet_mV;
    sp.rho_max_hz = s.rate_max_hz;
    sp.beta_per_mV = 1.0;
    sp.theta_mV = 0.0;
    sp.rate_function = rate_function(a);
    sp.v_init_mV = -kQuiet_mV;
    return PopulationSpec{kPopNames[p], static_cast<std::uint32_t>(n), sp};
}

ProjectionSpec projection(Pop src, Pop tgt, Connectivity c, double delay_ms) {
    ProjectionSpec p;
    p.source = kPopNames[src];
    p.target = kPopNames[tgt];
    p.name = p.source + "->" + p.target;
    p.connectivity = std::move(c);
    p.delay_ms = delay_ms;
    return p;
}

// All to all with weight scale W(post, pre).
ProjectionSpec dense(Pop src, Pop tgt, const Matrix& W, double scale, double delay_ms) {
    ExplicitPairs e;
    e.pairs.reserve(static_cast<std::size_t>(W.size()));
    for (Eigen::Index i = 0; i < W.cols(); ++i)
        for (Eigen::Index j = 0; j < W.rows(); ++j)
            e.pairs.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j),
                               scale * static_cast<double>(W(j, i)), std::nullopt});
    return projection(src, tgt, std::move(e), delay_ms);
}

ProjectionSpec one_to_one(Pop src, Pop tgt, double w, double delay_ms) {
    ProjectionSpec p = projection(src, tgt, OneToOne{}, delay_ms);
    p.weight_mV = w;
    return p;
}

// The init spike moves neuron j of tgt by jump[j].
ProjectionSpec init_to(Pop tgt, const Eigen::VectorXd& jump, double delay_ms) {
    ExplicitPairs e;
    for (Eigen::Index j = 0; j < jump.size(); ++j) e.pairs.push_back({0, static_cast<std::uint32_t>(j), jump[j], std::nullopt});
    return projection(kInit, tgt, std::move(e), delay_ms);
}

// Membranes at the start of inference, h(0) = (f1(x), f2(f1(x))).
struct Start {
    Eigen::VectorXd h1, h2, f2h1, g2h2, f2g2, g1h1, f1g1, f1x;
};

Start start_state(const Model& m, const Vector& x) {
    const Matrix X = x, h1 = m.f1(X), h2 = m.f2(h1);
    auto d = [](const Matrix& v) { return Eigen::VectorXd(v.col(0).cast<double>()); };
    return Start{d(h1),
                 d(h2),
                 d(m.f2.pre_activation(h1)),
                 d(m.g2.pre_activation(h2)),
                 d(m.f2.pre_activation(m.g2(h2))),
                 d(m.g1.pre_activation(h1)),
                 d(m.f1.pre_activation(m.g1(h1))),
                 d(m.f1.pre_activation(X))};
}

void add_populations(NetworkSpec& n, const Model& m, const Vector& x, const SpikingSettings& s, const Ranges& r,
                     bool m_step) {
    n.populations.push_back({kPopNames[kInit], 1, SpikeTimesParams{{{start_ms(s) - s.delay_ms}}}});
    n.populations.push_back(hidden_population(kH1, m.n_h1(), s.step_ms / s.inference.alpha, r.h1_min, r.h1_max, s));
    n.populations.push_back(hidden_population(kH2, m.n_h2(), kNoLeak_ms, r.h2_min, r.h2_max, s));
    n.populations.push_back(map_population(kF2H1, m.n_h2(), m.f2.act, s));
    n.populations.push_back(map_population(kG2H2, m.n_h1(), m.g2.act, s));
    n.populations.push_back(map_population(kF2G2, m.n_h2(), m.f2.act, s));
    n.populations.push_back(map_population(kG1H1, m.n_x(), m.g1.act, s));
    n.populations.push_back(map_population(kF1G1, m.n_h1(), m.f1.act, s));
    if (m_step || s.spiking_f1x) {
        PoissonParams px;
        px.start_ms = start_ms(s);
        for (Eigen::Index i = 0; i < x.size(); ++i)
            px.rates_hz.push_back(s.rate_max_hz * std::clamp<double>(x[i], 0.0, 1.0));
        n.populations.push_back({kPopNames[kX], static_cast<std::uint32_t>(m.n_x()), px});
    }
    if (s.spiking_f1x) n.populations.push_back(map_population(kF1X, m.n_h1(), m.f1.act, s));
    if (!m_step) return;
    n.populations.push_back(map_population(kF1XL, m.n_h1(), m.f1.act, s));
    n.populations.push_back(map_population(kF2H1L, m.n_h2(), m.f2.act, s));
    n.populations.push_back(map_population(kG2H2L, m.n_h1(), m.g2.act, s));
    n.populations.push_back(map_population(kG1H1L, m.n_x(), m.g1.act, s));
}

// Map synapses: w = W span / (R tau_f), span = the input's range (its value at rate R less that at 0).
void add_projections(NetworkSpec& n, const Model& m, const Vector& x, const SpikingSettings& s, const Ranges& r,
                     bool m_step) {
    const double r_ms = s.rate_max_hz / 1000.0, d = s.delay_ms;
    const double filt = 1.0 / (r_ms * filter_ms(s)), integ = 1.0 / (tau_ms(s) * r_ms);
    auto& P = n.projections;
    const double span1 = r.h1_max - r.h1_min, span2 = r.h2_max - r.h2_min;
    P.push_back(dense(kH1, kF2H1, m.f2.W, span1 * filt, d));
    P.push_back(dense(kH2, kG2H2, m.g2.W, span2 * filt, d));
    P.push_back(dense(kG2H2, kF2G2, m.f2.W, filt, d));
    P.push_back(dense(kH1, kG1H1, m.g1.W, span1 * filt, d));
    P.push_back(dense(kG1H1, kF1G1, m.f1.W, filt, d));
    P.push_back(one_to_one(kF2H1, kH2, integ, d));
    P.push_back(one_to_one(kF2G2, kH2, -integ, d));
    P.push_back(one_to_one(kF1G1, kH1, -integ, d));
    P.push_back(one_to_one(kG2H2, kH1, s.inference.alpha / s.inference.delta * integ, d));
    if (s.spiking_f1x) {
        P.push_back(dense(kX, kF1X, m.f1.W, filt, d));
        P.push_back(one_to_one(kF1X, kH1, integ, d));
    }
    if (m_step) {
        P.push_back(dense(kX, kF1XL, m.f1.W, filt, d));
        P.push_back(dense(kH1, kF2H1L, m.f2.W, span1 * filt, d));
        P.push_back(dense(kH2, kG2H2L, m.g2.W, span2 * filt, d));
        P.push_back(dense(kH1, kG1H1L, m.g1.W, span1 * filt, d));
    }
    // The init spike: h to h(0) from h_min, the maps to their pre-activation at h(0) from -40 mV.
    const Start st = start_state(m, x);
    auto raise = [](const Eigen::VectorXd& a) { return Eigen::VectorXd(a.array() + kQuiet_mV); };
    P.push_back(init_to(kH1, st.h1.array() - r.h1_min, d));
    P.push_back(init_to(kH2, st.h2.array() - r.h2_min, d));
    P.push_back(init_to(kF2H1, raise(st.f2h1), d));
    P.push_back(init_to(kG2H2, raise(st.g2h2), d));
    P.push_back(init_to(kF2G2, raise(st.f2g2), d));
    P.push_back(init_to(kG1H1, raise(st.g1h1), d));
    P.push_back(init_to(kF1G1, raise(st.f1g1), d));
    if (s.spiking_f1x) P.push_back(init_to(kF1X, raise(st.f1x), d));
    if (!m_step) return;
    P.push_back(init_to(kF1XL, raise(st.f1x), d));
    P.push_back(init_to(kF2H1L, raise(st.f2h1), d));
    P.push_back(init_to(kG2H2L, raise(st.g2h2), d));
    P.push_back(init_to(kG1H1L, raise(st.g1h1), d));
}

// The drive of a map population: its bias, less W h_min for an input whose rate encodes h - h_min.
Eigen::VectorXd base_drive(const Map& map, double input_min) {
    return map.b.cast<double>() + input_min * map.W.cast<double>().rowwise().sum();
}

// The M-step's maps: plastic projection, prediction population, target
// population (kX: the pixels), the map, the prediction's drive outside nudges.
struct Learner {
    const char* projection;
    Pop prediction, target;
    const Map* map;
    Eigen::VectorXd base;
};

std::vector<Learner> learners(const Model& m, const Ranges& r) {
    return {{"x->f1x_learn", kF1XL, kH1, &m.f1, base_drive(m.f1, 0.0)},
            {"h1->f2h1_learn", kF2H1L, kH2, &m.f2, base_drive(m.f2, r.h1_min)},
            {"h2->g2h2_learn", kG2H2L, kH1, &m.g2, base_drive(m.g2, r.h2_min)},
            {"h1->g1h1_learn", kG1H1L, kX, &m.g1, base_drive(m.g1, r.h1_min)}};
}

std::size_t projection_index(const Simulation& sim, const std::string& name) {
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        if (sim.projection(j).name() == name) return j;
    throw std::logic_error("vem spiking: no projection " + name);
}

}  // namespace

Ranges ranges(const Model& m, const Matrix& x, const SpikingSettings& s) {
    // Before f1(x) reads x: a wrong size would read past it.
    if (x.rows() != m.n_x())
        throw std::invalid_argument("vem spiking settings: x has " + std::to_string(x.rows()) + " pixels, the model " +
                                    std::to_string(m.n_x()));
    double h1_max = s.h1_max;
    if (!(h1_max > 0)) {
        const double top = static_cast<double>(m.f1(x).maxCoeff());
        if (!(top > 0)) throw std::invalid_argument("vem spiking: f1(x) has no positive entry to set h1_max from");
        h1_max = s.h1_margin * top;
    }
    return Ranges{-s.h1_below * h1_max, h1_max, s.h2_min, s.h2_max};
}

NetworkSpec spiking_network(const Model& m, const Vector& x, const SpikingSettings& s, const Ranges& r, bool m_step) {
    check(m, x, s);
    NetworkSpec n;
    n.name = "vem_spiking";
    n.run.seed = s.seed;
    n.run.duration_ms = (s.inference.steps + 1) * s.step_ms + kLead_ms;
    add_populations(n, m, x, s, r, m_step);
    add_projections(n, m, x, s, r, m_step);
    if (m_step) {
        PlasticitySpec rule;
        rule.w_min_mV = -std::numeric_limits<double>::infinity();
        for (const Learner& l : learners(m, r))
            for (ProjectionSpec& p : n.projections)
                if (p.name == l.projection) {
                    rule.rule = VoltageSlopeParams{1.0, SlopeEstimate::Forward, 1.0, true};
                    p.plasticity = rule;
                }
    }
    const double tau = s.readout_tau_ms > 0 ? s.readout_tau_ms : s.step_ms;
    n.record.rates = {RateProbeSpec{"h1", {}, s.step_ms, RateReadout::Model, 100.0, tau},
                      RateProbeSpec{"h2", {}, s.step_ms, RateReadout::Model, 100.0, tau},
                      RateProbeSpec{"h1", {}, s.step_ms, RateReadout::Exp, 100.0, tau},
                      RateProbeSpec{"h2", {}, s.step_ms, RateReadout::Exp, 100.0, tau}};
    return n;
}

namespace {

// The Eq. 1 parameters of the M-step (spiking_network puts placeholders).
void set_rule(NetworkSpec& n, const MStepSettings& ms) {
    for (ProjectionSpec& p : n.projections)
        if (p.plasticity) p.plasticity->rule = VoltageSlopeParams{ms.eta_ms, SlopeEstimate::Forward, ms.window_ms, true};
}

// Every drive at the start of inference: h1 toward (delta / alpha) f1(x), h2 toward 0 (it has
// no leak to speak of), the maps toward their biases.
void set_drives(Simulation& sim, const Layout& L, const Model& m, const Vector& x, const SpikingSettings& s,
                const Ranges& r, bool m_step) {
    // With spiking_f1x, f1(x) arrives from f1x and h1 leaks toward 0.
    const Vector f1x = m.f1(Matrix(x)).col(0);
    const double gain = s.spiking_f1x ? 0.0 : s.inference.delta / s.inference.alpha;
    for (Eigen::Index j = 0; j < f1x.size(); ++j) sim.set_drive(L[kH1], static_cast<std::uint32_t>(j), f1x[j] * gain);
    for (Eigen::Index j = 0; j < m.n_h2(); ++j) sim.set_drive(L[kH2], static_cast<std::uint32_t>(j), 0.0);
    auto drive = [&](Pop p, const Eigen::VectorXd& b) {
        for (Eigen::Index j = 0; j < b.size(); ++j) sim.set_drive(L[p], static_cast<std::uint32_t>(j), b[j]);
    };
    if (s.spiking_f1x) drive(kF1X, base_drive(m.f1, 0.0));
    drive(kF2H1, base_drive(m.f2, r.h1_min));
    drive(kG2H2, base_drive(m.g2, r.h2_min));
    drive(kF2G2, base_drive(m.f2, 0.0));
    drive(kG1H1, base_drive(m.g1, r.h1_min));
    drive(kF1G1, base_drive(m.f1, 0.0));
    if (!m_step) return;
    for (const Learner& l : learners(m, r)) drive(l.prediction, l.base);
}

// The M-step's driver state: the learners, their plastic projections and, per
// learner neuron, what the nudges so far still add to its membrane (a leaky
// membrane is linear in its drive, so this is exact), to be taken out of the
// free-phase reads: a read that kept it would feed each nudge back into the next.
struct Teacher {
    Layout L;
    std::vector<Learner> ls;
    std::vector<std::size_t> proj;
    std::vector<Eigen::VectorXd> offset;  // at the start of the current cycle
    double tau_ms = 0.0;
};

// One M-step cycle from tc (ms): free phase (membranes read), nudge of sign `sign`.
void nudge_cycle(Simulation& sim, Teacher& th, const Vector& x, const MStepSettings& ms, double tc, double sign) {
    const TimeBase& tb = sim.time();
    const double free_ms = ms.cycle_ms - ms.nudge_ms;
    const std::size_t L = th.ls.size();
    std::vector<Eigen::VectorXd> a(L), t(L);
    for (std::size_t k = 0; k < L; ++k) a[k] = t[k] = Eigen::VectorXd::Zero(th.ls[k].map->out());
    for (int r = 0; r < ms.samples; ++r) {
        const double tr = tc + free_ms * (0.5 + 0.5 * (r + 0.5) / ms.samples);
        sim.run_until(tb.round(tr));
        const double decay = std::exp(-(tr - tc) / th.tau_ms);
        for (std::size_t k = 0; k < L; ++k)
            for (Eigen::Index j = 0; j < a[k].size(); ++j) {
                const auto u = static_cast<std::uint32_t>(j);
                const Learner& l = th.ls[k];
                a[k][j] += (sim.observe_voltage(th.L[l.prediction], u) - th.offset[k][j] * decay) / ms.samples;
                t[k][j] += (l.target == kX ? x[j] : sim.observe_voltage(th.L[l.target], u)) / ms.samples;
            }
    }
    sim.run_until(tb.round(tc + free_ms));
    const double at_nudge = std::exp(-free_ms / th.tau_ms), through = std::exp(-ms.nudge_ms / th.tau_ms);
    for (std::size_t k = 0; k < L; ++k) {
        const Activation f = th.ls[k].map->act;
        for (Eigen::Index j = 0; j < a[k].size(); ++j) {
            const double push = sign * ms.lambda * (t[k][j] - act(f, a[k][j])) * act_prime(f, a[k][j]);
            sim.set_drive(th.L[th.ls[k].prediction], static_cast<std::uint32_t>(j), th.ls[k].base[j] + push);
            // The offset at the end of the nudge: it relaxes toward push during it.
            th.offset[k][j] = push + (th.offset[k][j] * at_nudge - push) * through;
        }
        sim.set_plasticity_gain(th.proj[k], sign);
    }
    // The rule stops a window before the nudge ends, so that no forward difference sees the release.
    sim.run_until(tb.round(tc + ms.cycle_ms - ms.window_ms));
    for (std::size_t p : th.proj) sim.set_plasticity_gain(p, 0.0);
    sim.run_until(tb.round(tc + ms.cycle_ms));
    for (const Learner& l : th.ls)
        for (Eigen::Index j = 0; j < l.map->out(); ++j)
            sim.set_drive(th.L[l.prediction], static_cast<std::uint32_t>(j), l.base[j]);
}

// The M-step during inference: an even number of cycles, alternating sign; the summed dW / eta.
void run_m_step(Simulation& sim, const Model& m, const Vector& x, const SpikingSettings& s, const Ranges& r,
                const MStepSettings& ms, SpikingRun& run) {
    if (!(ms.nudge_ms > ms.window_ms) || !(ms.cycle_ms > ms.nudge_ms) || ms.samples < 1 || !(ms.eta_ms > 0))
        throw std::invalid_argument("vem spiking M-step: needs cycle_ms > nudge_ms > window_ms, samples >= 1, eta_ms > 0");
    Teacher th{Layout(sim), learners(m, r), {}, {}, filter_ms(s)};
    std::vector<std::vector<WeightSample>> before;
    for (const Learner& l : th.ls) {
        th.proj.push_back(projection_index(sim, l.projection));
        th.offset.push_back(Eigen::VectorXd::Zero(l.map->out()));
        before.push_back(sim.weights_now(th.proj.back()));
    }
    const std::vector<Learner>& ls = th.ls;
    const std::vector<std::size_t>& proj = th.proj;
    int cycles = static_cast<int>(std::floor(s.inference.steps * s.step_ms / ms.cycle_ms));
    cycles -= cycles % 2;
    for (int c = 0; c < cycles; ++c) {
        nudge_cycle(sim, th, x, ms, start_ms(s) + c * ms.cycle_ms, c % 2 == 0 ? 1.0 : -1.0);
        run.nudge_mid_ms.push_back(c * ms.cycle_ms + ms.cycle_ms - 0.5 * ms.nudge_ms);
    }
    for (std::size_t k = 0; k < ls.size(); ++k) {
        Eigen::MatrixXd dw = Eigen::MatrixXd::Zero(ls[k].map->out(), ls[k].map->in());
        const std::vector<WeightSample> after = sim.weights_now(proj[k]);
        for (std::size_t q = 0; q < after.size(); ++q)
            dw(after[q].post, after[q].pre) += (after[q].w - before[k][q].w) / ms.eta_ms;
        run.dW.push_back(dw.cast<float>());
    }
}

// The read-outs, sample k = 0..steps at (k + 1) step_ms.
void collect(const Simulation& sim, const Model& m, const SpikingSettings& s, const Ranges& g, SpikingRun& run) {
    const int K = s.inference.steps + 1;
    run.h1.assign(K, Vector::Zero(m.n_h1()));
    run.h2.assign(K, Vector::Zero(m.n_h2()));
    run.h1_exp = run.h1;
    run.h2_exp = run.h2;
    const Tick step = sim.time().round(s.step_ms);
    for (const RateSample& r : sim.rate_samples()) {
        const Tick k = r.t / step - 1;
        if (r.t % step != 0 || k < 0 || k >= K) continue;
        const bool first = r.probe == kH1Model || r.probe == kH1Exp;
        const double lo = first ? g.h1_min : g.h2_min, hi = first ? g.h1_max : g.h2_max;
        const double h = lo + r.rate_hz / s.rate_max_hz * (hi - lo);
        std::vector<Vector>& out = r.probe == kH1Model ? run.h1 : r.probe == kH2Model ? run.h2
                                 : r.probe == kH1Exp   ? run.h1_exp : run.h2_exp;
        out[static_cast<std::size_t>(k)][r.neuron] = static_cast<float>(h);
    }
    for (int k = 0; k < K; ++k) run.t_ms.push_back(k * s.step_ms);
}

}  // namespace

SpikingRun run_spiking(const Model& m, const Vector& x, const SpikingSettings& s, const MStepSettings* m_step) {
    const auto wall0 = std::chrono::steady_clock::now();
    const Ranges r = ranges(m, Matrix(x), s);
    NetworkSpec spec = spiking_network(m, x, s, r, m_step != nullptr);
    if (m_step) set_rule(spec, *m_step);
    Simulation sim(std::move(spec), s.threads, s.partitioning);
    for (std::size_t j = 0; j < sim.num_projections(); ++j)
        if (sim.projection(j).learns()) sim.set_plasticity_gain(j, 0.0);
    SpikingRun run;
    run.h1_min = r.h1_min;
    run.h1_max = r.h1_max;
    sim.run_until(sim.time().round(start_ms(s)));
    set_drives(sim, Layout(sim), m, x, s, r, m_step != nullptr);
    if (m_step) run_m_step(sim, m, x, s, r, *m_step, run);
    const Tick end = sim.time().round((s.inference.steps + 1) * s.step_ms) + 1;
    sim.run_until(end);
    collect(sim, m, s, r, run);
    run.simulated_ms = sim.time().to_ms(end);
    run.synaptic_events = sim.synaptic_events();
    for (std::size_t p = 0; p < sim.num_populations(); ++p) run.spikes += sim.summary(p).spikes;
    run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    return run;
}

RateTrajectory rate_trajectory(const Model& m, const Matrix& x, const InferenceSettings& s, int substeps) {
    RateTrajectory r;
    Hidden e = infer_start(m, x), o = e;
    const Matrix f1x = e.h1;
    InferenceSettings fine = s;
    fine.delta = s.delta / static_cast<float>(substeps);
    fine.alpha = s.alpha / static_cast<float>(substeps);
    r.euler.push_back(e);
    r.ode.push_back(o);
    for (int k = 0; k < s.steps; ++k) {
        infer_step(m, f1x, e, s);
        for (int q = 0; q < substeps; ++q) infer_step(m, f1x, o, fine);
        r.euler.push_back(e);
        r.ode.push_back(o);
    }
    return r;
}

namespace {

double rel(const Vector& a, const Eigen::Ref<const Vector>& b) {
    return static_cast<double>((a - b).norm()) / static_cast<double>(b.norm());
}

}  // namespace

InferenceError spiking_inference_error(const Model& m, const Matrix& x, const SpikingSettings& s,
                                       const MStepSettings* m_step,
                                       const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    SpikingSettings s1 = s;
    s1.h1_max = ranges(m, x, s).h1_max;
    const RateTrajectory rt = rate_trajectory(m, x, s.inference);
    const std::size_t K = static_cast<std::size_t>(s.inference.steps) + 1;
    InferenceError e;
    for (auto* v : {&e.h1, &e.h2, &e.h1_ode, &e.h2_ode, &e.h1_exp, &e.h2_exp}) v->assign(K, 0.0);
    const double B = static_cast<double>(x.cols());
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
        SpikingRun run = run_spiking(m, x.col(c), s1, m_step);
        for (std::size_t k = 0; k < K; ++k) {
            e.h1[k] += rel(run.h1[k], rt.euler[k].h1.col(c)) / B;
            e.h2[k] += rel(run.h2[k], rt.euler[k].h2.col(c)) / B;
            e.h1_ode[k] += rel(run.h1[k], rt.ode[k].h1.col(c)) / B;
            e.h2_ode[k] += rel(run.h2[k], rt.ode[k].h2.col(c)) / B;
            e.h1_exp[k] += rel(run.h1_exp[k], rt.euler[k].h1.col(c)) / B;
            e.h2_exp[k] += rel(run.h2_exp[k], rt.euler[k].h2.col(c)) / B;
        }
        const Hidden &h0 = rt.euler.front(), &hT = rt.euler.back();
        e.h1_of_change += static_cast<double>((run.h1.back() - hT.h1.col(c)).norm() / (hT.h1.col(c) - h0.h1.col(c)).norm()) / B;
        e.h2_of_change += static_cast<double>((run.h2.back() - hT.h2.col(c)).norm() / (hT.h2.col(c) - h0.h2.col(c)).norm()) / B;
        e.ode_floor_h1 += rel(rt.ode.back().h1.col(c), rt.euler.back().h1.col(c)) / B;
        e.ode_floor_h2 += rel(rt.ode.back().h2.col(c), rt.euler.back().h2.col(c)) / B;
        e.simulated_ms += run.simulated_ms;
        e.wall_s += run.wall_s;
        e.synaptic_events += run.synaptic_events;
        e.runs.push_back(std::move(run));
        if (progress) progress(c + 1, x.cols());
    }
    e.t_ms = e.runs.front().t_ms;
    return e;
}

namespace {

Matrix orthogonal_to(const Matrix& a, const Matrix& n) {
    const double nn = dot(n, n);
    return nn > 0 ? Matrix(a - static_cast<float>(dot(a, n) / nn) * n) : a;
}

// Per map (kMapNames order): (pre, target) of the rate-based M-step at h.
std::vector<std::pair<Matrix, Matrix>> map_io(const Matrix& x, const Hidden& h) {
    return {{x, h.h1}, {h.h1, h.h2}, {h.h2, h.h1}, {h.h1, x}};
}

// The rate state at inference time t_ms (linear between iterations).
Hidden rate_state_at(const RateTrajectory& rt, double t_ms, double step_ms) {
    const double u = std::clamp(t_ms / step_ms, 0.0, static_cast<double>(rt.euler.size() - 1));
    const auto k0 = static_cast<std::size_t>(std::floor(u));
    const std::size_t k1 = std::min(k0 + 1, rt.euler.size() - 1);
    const auto w = static_cast<float>(u - static_cast<double>(k0));
    return Hidden{(1 - w) * rt.euler[k0].h1 + w * rt.euler[k1].h1, (1 - w) * rt.euler[k0].h2 + w * rt.euler[k1].h2};
}

}  // namespace

MStepResult spiking_m_step(const Model& m, const Matrix& x, const SpikingSettings& s, const MStepSettings& ms,
                           const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    MStepResult r;
    r.inference = spiking_inference_error(m, x, s, &ms, progress);
    const RateTrajectory rt = rate_trajectory(m, x, s.inference);
    const Map* maps[4] = {&m.f1, &m.f2, &m.g2, &m.g1};
    const auto io = map_io(x, rt.euler.back());
    Hidden spiking_h{Matrix(m.n_h1(), x.cols()), Matrix(m.n_h2(), x.cols())};
    for (std::size_t c = 0; c < r.inference.runs.size(); ++c) {
        spiking_h.h1.col(static_cast<Eigen::Index>(c)) = r.inference.runs[c].h1.back();
        spiking_h.h2.col(static_cast<Eigen::Index>(c)) = r.inference.runs[c].h2.back();
    }
    const auto io_spiking = map_io(x, spiking_h);
    std::vector<Matrix> trajectory, at_spiking_h;
    for (int k = 0; k < 4; ++k) {
        r.dW_spiking.push_back(Matrix::Zero(maps[k]->out(), maps[k]->in()));
        r.dW_rate.push_back(eq1_rate_update(*maps[k], io[k].first, io[k].second).dW);
        at_spiking_h.push_back(eq1_rate_update(*maps[k], io_spiking[k].first, io_spiking[k].second).dW);
        trajectory.push_back(Matrix::Zero(maps[k]->out(), maps[k]->in()));
    }
    for (std::size_t c = 0; c < r.inference.runs.size(); ++c) {
        const SpikingRun& run = r.inference.runs[c];
        for (int k = 0; k < 4; ++k) r.dW_spiking[k] += run.dW[k];
        for (double t : run.nudge_mid_ms) {
            const Hidden h = rate_state_at(rt, t, s.step_ms);
            const auto at = map_io(x, h);
            const auto col = static_cast<Eigen::Index>(c);
            for (int k = 0; k < 4; ++k)
                trajectory[k] += eq1_rate_update(*maps[k], at[k].first.col(col), at[k].second.col(col)).dW;
        }
    }
    for (int k = 0; k < 4; ++k) {
        const Matrix null = io[k].second * io[k].first.transpose();
        const std::vector<double> signs = shuffled_signs(s.seed + static_cast<std::uint64_t>(k), static_cast<std::size_t>(null.size()));
        Matrix shuffled = r.dW_spiking[k];
        for (Eigen::Index q = 0; q < shuffled.size(); ++q) shuffled(q) *= static_cast<float>(signs[static_cast<std::size_t>(q)]);
        MapAlignment a;
        a.map = kMapNames[k];
        a.cosine = cosine(r.dW_spiking[k], r.dW_rate[k]);
        a.cosine_trajectory = cosine(r.dW_spiking[k], trajectory[k]);
        a.cosine_spiking_h = cosine(r.dW_spiking[k], at_spiking_h[k]);
        a.null_cosine = cosine(null, r.dW_rate[k]);
        a.shuffled_cosine = cosine(shuffled, r.dW_rate[k]);
        a.cosine_beyond_null = cosine(orthogonal_to(r.dW_spiking[k], null), orthogonal_to(r.dW_rate[k], null));
        r.maps.push_back(a);
    }
    return r;
}

Matrix generate_spiking(const Model& m, const Matrix& x_ancestral, int refine, const SpikingSettings& s,
                        const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    Matrix out = x_ancestral;
    for (Eigen::Index c = 0; c < out.cols(); ++c) {
        for (int r = 0; r < refine; ++r) {
            // Each sample and refinement its own spike draws, a seed derived from (seed, sample, round).
            SpikingSettings sc = s;
            sc.seed = RandomStream(s.seed, stable_hash("spikeem/vem/generate_spiking"), static_cast<std::uint64_t>(c),
                                   static_cast<std::uint64_t>(r)).next_u64();
            const SpikingRun run = run_spiking(m, out.col(c), sc);
            out.col(c) = m.g1(Matrix(run.h1.back()));
        }
        if (progress) progress(c + 1, out.cols());
    }
    return out;
}

}  // namespace spikeem::vem

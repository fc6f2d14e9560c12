#include "experiments/eq1_protocol.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "sim/random.hpp"

namespace spikeem::eq1 {

namespace {

constexpr std::uint64_t kDomain = stable_hash("spikeem/eq1_protocol");
// Trials per chunk: fixed, so the merge order (hence every floating-point sum)
// does not depend on the thread count.  Changing it changes results in the
// last bits only.
constexpr std::uint64_t kChunkTrials = 4096;

// The number of bins, checking the binning contract.
std::size_t bin_count(double window_ms, double bin_ms) {
    if (!(window_ms > 0.0) || !(bin_ms > 0.0) || !std::isfinite(window_ms) || !std::isfinite(bin_ms))
        throw std::invalid_argument("eq1 binning: window_ms and bin_ms must be positive and finite");
    const double half = window_ms / bin_ms;
    const double r = std::round(half);
    if (r < 1.0 || std::abs(half - r) > 1e-9 * r)
        throw std::invalid_argument("eq1 binning: window_ms (" + std::to_string(window_ms) +
                                    ") must be an integer multiple of bin_ms (" + std::to_string(bin_ms) + ")");
    return 2 * static_cast<std::size_t>(r);
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Per-thread scratch for one trial (candidate times and noise samples).
struct Scratch {
    std::vector<double> cand_ms;
    std::vector<double> noise;  // B(t) at the candidate times
    std::vector<double> post_ms;  // the trial's post spikes, ascending
};

Trial trial_impl(const ProtocolOptions& o, std::uint64_t trial, std::vector<Pair>& out, Scratch& sc) {
    out.clear();
    RandomStream rng(o.seed, kDomain, trial, 0);
    Trial tr;
    // Draw order (fixed; part of the reproducibility contract): V0, slope (Gaussian
    // mode only), candidate times, noise (negative side outward, then positive
    // side outward), one acceptance uniform per candidate in time order.
    tr.v0 = o.theta * rng.uniform();
    tr.slope_per_ms = o.slope_grid_per_ms.empty()
                          ? o.slope_std_per_ms * rng.normal()
                          : o.slope_grid_per_ms[trial % o.slope_grid_per_ms.size()];
    const double s = tr.slope_per_ms, v0 = tr.v0, W = o.window_ms;
    const double dW = o.eta * s;

    auto& post = sc.post_ms;
    post.clear();
    if (o.firing == Firing::Deterministic) {
        if (s == 0.0) return tr;  // V0 < theta: never crosses
        const double t_star = (o.theta - v0) / s;
        if (!(std::abs(t_star) <= W)) return tr;
        post.push_back(t_star);
        if (o.reset) {
            const double step = (o.theta - o.v_reset) / s;  // signed: away from 0 along sign(s)
            for (int k = 1;; ++k) {
                const double t = t_star + k * step;
                if (!(std::abs(t) <= W)) break;
                post.push_back(t);
            }
            if (s < 0.0) std::reverse(post.begin(), post.end());  // time order
        }
        select_pairs(post, 0.0, W, o.pairing, dW, out);
        return tr;
    }

    // Stochastic: thinning.  Candidates: homogeneous Poisson, rate rho_max, on [-W, W].
    auto& cand = sc.cand_ms;
    cand.clear();
    const double gap_ms = 1.0 / o.rho_max_per_ms;
    for (double t = -W + rng.exponential(gap_ms); t <= W; t += rng.exponential(gap_ms)) cand.push_back(t);
    const std::size_t n = cand.size();

    const double sigma = o.noise_sigma_per_sqrt_ms;
    auto& B = sc.noise;
    if (sigma > 0.0) {
        B.assign(n, 0.0);
        const std::size_t p = static_cast<std::size_t>(std::lower_bound(cand.begin(), cand.end(), 0.0) - cand.begin());
        double t_prev = 0.0, b_prev = 0.0;
        for (std::size_t i = p; i-- > 0;) {  // t < 0, walking outward (backward in time) from 0
            b_prev += std::sqrt(t_prev - cand[i]) * rng.normal();
            t_prev = cand[i];
            B[i] = b_prev;
        }
        t_prev = 0.0;
        b_prev = 0.0;
        for (std::size_t i = p; i < n; ++i) {  // t >= 0, outward (forward in time)
            b_prev += std::sqrt(cand[i] - t_prev) * rng.normal();
            t_prev = cand[i];
            B[i] = b_prev;
        }
    }

    double offset = 0.0;  // sum of the resets so far
    for (std::size_t i = 0; i < n; ++i) {
        const double t = cand[i];
        const double v = v0 + s * t + (sigma > 0.0 ? sigma * B[i] : 0.0) - offset;
        const double accept = sigmoid(o.beta * (v - o.theta));
        if (rng.uniform() < accept) {
            post.push_back(t);
            if (o.reset) offset += v - o.v_reset;
        }
    }
    select_pairs(post, 0.0, W, o.pairing, dW, out);
    return tr;
}

struct ChunkResult {
    ReplicateBins bins;
    std::vector<RatioMoments> dT_per_slope;
    std::vector<std::uint64_t> trials_per_slope;
    std::uint64_t pairs = 0;
    std::uint64_t without = 0;
    Moments pairs_per_trial;
    explicit ChunkResult(const ProtocolOptions& o)
        : bins(o.window_ms, o.bin_ms),
          dT_per_slope(o.slope_grid_per_ms.size()),
          trials_per_slope(o.slope_grid_per_ms.size(), 0) {}
};

// Weighted data of one side of the curve.
struct SideData {
    std::vector<double> x, y, w;
};

}  // namespace

// --- Moments ---------------------------------------------------------------

void Moments::add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
}

void Moments::merge(const Moments& o) {
    if (o.n == 0) return;
    if (n == 0) {
        *this = o;
        return;
    }
    const double na = static_cast<double>(n), nb = static_cast<double>(o.n), nt = na + nb;
    const double d = o.mean - mean;
    mean += d * nb / nt;
    m2 += o.m2 + d * d * na * nb / nt;
    n += o.n;
}

double Moments::variance() const { return n < 2 ? 0.0 : m2 / static_cast<double>(n - 1); }
double Moments::sem() const { return n < 2 ? 0.0 : std::sqrt(variance() / static_cast<double>(n)); }

void RatioMoments::add_replicate(double S, std::uint64_t N, double sum_sq_values) {
    ++replicates;
    n += N;
    const double Nd = static_cast<double>(N);
    s += S;
    ss += S * S;
    sn += S * Nd;
    nn += Nd * Nd;
    vv += sum_sq_values;
}

void RatioMoments::merge(const RatioMoments& o) {
    replicates += o.replicates;
    n += o.n;
    s += o.s;
    ss += o.ss;
    sn += o.sn;
    nn += o.nn;
    vv += o.vv;
}

double RatioMoments::sem() const {
    if (replicates < 2) return std::numeric_limits<double>::quiet_NaN();
    if (n == 0) return 0.0;
    const double m = mean(), R = static_cast<double>(replicates), N = static_cast<double>(n);
    // sum_r (S_r - m N_r)^2, clipped at 0 against rounding when every S_r = m N_r.
    const double dev = std::max(0.0, ss - 2.0 * m * sn + m * m * nn);
    return std::sqrt(R / (R - 1.0) * dev) / N;
}

double RatioMoments::value_std() const {
    if (n < 2) return 0.0;
    const double N = static_cast<double>(n), m = mean();
    return std::sqrt(std::max(0.0, vv - N * m * m) / (N - 1.0));
}

const char* to_string(PostPairing p) {
    switch (p) {
        case PostPairing::Nearest: return "nearest";
        case PostPairing::FirstAfter: return "first_after";
        case PostPairing::LastBefore: return "last_before";
        case PostPairing::All: return "all";
    }
    return "?";
}

const char* to_string(Firing f) { return f == Firing::Deterministic ? "deterministic" : "stochastic"; }

void select_pairs(std::span<const double> post_ms, double t_pre_ms, double window_ms, PostPairing pairing, double dW,
                  std::vector<Pair>& out) {
    // [lo, hi): the post spikes within +-window; split: the first at or after t_pre.
    const auto lo = std::lower_bound(post_ms.begin(), post_ms.end(), t_pre_ms - window_ms);
    const auto hi = std::upper_bound(lo, post_ms.end(), t_pre_ms + window_ms);
    const auto split = std::lower_bound(lo, hi, t_pre_ms);
    auto push = [&](auto it) { out.push_back({*it - t_pre_ms, dW}); };
    switch (pairing) {
        case PostPairing::All:
            for (auto it = lo; it != hi; ++it) push(it);
            return;
        case PostPairing::FirstAfter:
            if (split != hi) push(split);
            return;
        case PostPairing::LastBefore:
            if (split != lo) push(split - 1);
            return;
        case PostPairing::Nearest:
            if (split == lo && split == hi) return;
            if (split == lo) push(split);
            else if (split == hi) push(split - 1);
            else push(*split - t_pre_ms <= t_pre_ms - *(split - 1) ? split : split - 1);
            return;
    }
}

// --- Binning ---------------------------------------------------------------

ReplicateBins::ReplicateBins(double window_ms, double bin_ms)
    : window_ms_(window_ms),
      bin_ms_(bin_ms),
      m_(bin_count(window_ms, bin_ms)),
      cur_s_(m_.size(), 0.0),
      cur_vv_(m_.size(), 0.0),
      cur_n_(m_.size(), 0) {}

std::size_t ReplicateBins::index(double dT_ms) const {
    // As BinAccumulator::add: dT = 0 is an edge, rounding of the division repaired.
    const auto nb = static_cast<std::ptrdiff_t>(m_.size()), h = nb / 2;
    auto k = std::clamp<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(std::floor(dT_ms / bin_ms_)) + h, 0, nb - 1);
    if (k > 0 && dT_ms < static_cast<double>(k - h) * bin_ms_) --k;
    else if (k < nb - 1 && dT_ms >= static_cast<double>(k - h + 1) * bin_ms_) ++k;
    return static_cast<std::size_t>(k);
}

void ReplicateBins::add(double dT_ms, double dW) {
    if (!(std::abs(dT_ms) <= window_ms_)) {
        ++outside_;
        return;
    }
    const std::size_t k = index(dT_ms);
    if (cur_n_[k] == 0) touched_.push_back(k);
    ++cur_n_[k];
    cur_s_[k] += dW;
    cur_vv_[k] += dW * dW;
}

void ReplicateBins::close_replicate() {
    // Bins this replicate did not touch get (S, N) = (0, 0), which adds nothing
    // but the replicate itself: bins() sets every bin's count of replicates.
    for (std::size_t k : touched_) {
        m_[k].add_replicate(cur_s_[k], cur_n_[k], cur_vv_[k]);
        cur_s_[k] = cur_vv_[k] = 0.0;
        cur_n_[k] = 0;
    }
    touched_.clear();
    ++replicates_;
}

void ReplicateBins::merge(const ReplicateBins& o) {
    if (o.m_.size() != m_.size() || o.window_ms_ != window_ms_ || o.bin_ms_ != bin_ms_)
        throw std::invalid_argument("eq1 ReplicateBins::merge: different binnings");
    if (!o.touched_.empty()) throw std::invalid_argument("eq1 ReplicateBins::merge: open replicate");
    for (std::size_t i = 0; i < m_.size(); ++i) m_[i].merge(o.m_[i]);
    replicates_ += o.replicates_;
    outside_ += o.outside_;
}

std::vector<Bin> ReplicateBins::bins() const {
    std::vector<Bin> out(m_.size());
    for (std::size_t i = 0; i < m_.size(); ++i) {
        RatioMoments m = m_[i];
        m.replicates = replicates_;
        Bin& b = out[i];
        const auto k = static_cast<double>(i) - static_cast<double>(m_.size() / 2);
        b.lo_dT_ms = k * bin_ms_;
        b.hi_dT_ms = (k + 1.0) * bin_ms_;
        b.centre_dT_ms = 0.5 * (b.lo_dT_ms + b.hi_dT_ms);
        b.n = m.n;
        b.mean_dW = m.mean();
        b.std_dW = m.value_std();
        b.sem_dW = m.sem();
        b.replicates = replicates_;
    }
    return out;
}


BinAccumulator::BinAccumulator(double window_ms, double bin_ms)
    : window_ms_(window_ms), bin_ms_(bin_ms), m_(bin_count(window_ms, bin_ms)) {}

void BinAccumulator::add(double dT_ms, double dW) {
    if (!(std::abs(dT_ms) <= window_ms_)) {
        ++outside_;
        return;
    }
    // Bin k covers [(k - h) bin, (k - h + 1) bin), h = number of bins per side,
    // so dT = 0 is exactly an edge and the sign of dT always picks the side.
    const auto nb = static_cast<std::ptrdiff_t>(m_.size()), h = nb / 2;
    auto k = static_cast<std::ptrdiff_t>(std::floor(dT_ms / bin_ms_)) + h;
    k = std::clamp<std::ptrdiff_t>(k, 0, nb - 1);
    // Repair rounding of the division so that dT lies in the reported [lo, hi).
    if (k > 0 && dT_ms < static_cast<double>(k - h) * bin_ms_) --k;
    else if (k < nb - 1 && dT_ms >= static_cast<double>(k - h + 1) * bin_ms_) ++k;
    m_[static_cast<std::size_t>(k)].add(dW);
}

void BinAccumulator::merge(const BinAccumulator& o) {
    if (o.m_.size() != m_.size() || o.window_ms_ != window_ms_ || o.bin_ms_ != bin_ms_)
        throw std::invalid_argument("eq1 BinAccumulator::merge: different binnings");
    for (std::size_t i = 0; i < m_.size(); ++i) m_[i].merge(o.m_[i]);
    outside_ += o.outside_;
}

std::vector<Bin> BinAccumulator::bins() const {
    std::vector<Bin> out(m_.size());
    for (std::size_t i = 0; i < m_.size(); ++i) {
        Bin& b = out[i];
        const auto k = static_cast<double>(i) - static_cast<double>(m_.size() / 2);
        b.lo_dT_ms = k * bin_ms_;
        b.hi_dT_ms = (k + 1.0) * bin_ms_;
        b.centre_dT_ms = 0.5 * (b.lo_dT_ms + b.hi_dT_ms);
        b.n = m_[i].n;
        b.mean_dW = m_[i].mean;
        b.std_dW = std::sqrt(m_[i].variance());
        b.sem_dW = m_[i].sem();
    }
    return out;
}

std::vector<Bin> bin_pairs(std::span<const Pair> pairs, double window_ms, double bin_ms) {
    BinAccumulator acc(window_ms, bin_ms);
    for (const Pair& p : pairs) acc.add(p);
    return acc.bins();
}

// --- Fits ------------------------------------------------------------------

namespace {

// Weighted SSE of y ~ A exp(-x/tau), A in closed form.  Exponentials are taken
// relative to x0 = min x so that they cannot all underflow; returns the
// amplitude at x = 0 in *amp (may be inf for tiny tau).
double exp_sse(const SideData& d, double tau, double x0, double* amp) {
    double s_ye = 0.0, s_ee = 0.0;
    for (std::size_t i = 0; i < d.x.size(); ++i) {
        const double e = std::exp(-(d.x[i] - x0) / tau);
        s_ye += d.w[i] * d.y[i] * e;
        s_ee += d.w[i] * e * e;
    }
    const double a = s_ye / s_ee;
    double sse = 0.0;
    for (std::size_t i = 0; i < d.x.size(); ++i) {
        const double r = d.y[i] - a * std::exp(-(d.x[i] - x0) / tau);
        sse += d.w[i] * r * r;
    }
    if (amp) *amp = a * std::exp(x0 / tau);
    return sse;
}

ExpFit fit_exponential(const SideData& d) {
    ExpFit f;
    if (d.x.size() < 2) return f;
    const double x0 = *std::min_element(d.x.begin(), d.x.end());
    // Coarse scan of log tau over [1e-2, 1e6] ms, then golden section around the best.
    constexpr int kGrid = 1201;
    const double lo = std::log(1e-2), hi = std::log(1e6);
    auto lt = [&](int i) { return lo + (hi - lo) * i / (kGrid - 1); };
    int best = 0;
    double best_sse = std::numeric_limits<double>::infinity();
    for (int i = 0; i < kGrid; ++i) {
        const double sse = exp_sse(d, std::exp(lt(i)), x0, nullptr);
        if (sse < best_sse) {
            best_sse = sse;
            best = i;
        }
    }
    f.tau_at_bound = best == 0 || best == kGrid - 1;
    double a = lt(std::max(best - 1, 0)), b = lt(std::min(best + 1, kGrid - 1));
    const double g = 0.5 * (std::sqrt(5.0) - 1.0);
    double c = b - g * (b - a), e = a + g * (b - a);
    double fc = exp_sse(d, std::exp(c), x0, nullptr), fe = exp_sse(d, std::exp(e), x0, nullptr);
    for (int it = 0; it < 80; ++it) {
        if (fc < fe) {
            b = e;
            e = c;
            fe = fc;
            c = b - g * (b - a);
            fc = exp_sse(d, std::exp(c), x0, nullptr);
        } else {
            a = c;
            c = e;
            fc = fe;
            e = a + g * (b - a);
            fe = exp_sse(d, std::exp(e), x0, nullptr);
        }
    }
    double tau = std::exp(0.5 * (a + b));
    double amp = 0.0;
    double sse = exp_sse(d, tau, x0, &amp);
    if (!(sse <= best_sse)) {  // keep the grid point if the refinement did not improve
        tau = std::exp(lt(best));
        sse = exp_sse(d, tau, x0, &amp);
    }
    f.ok = true;
    f.tau_ms = tau;
    f.amplitude = amp;
    f.wsse = sse;
    return f;
}

InverseFit fit_inverse(const SideData& d) {
    InverseFit f;
    if (d.x.empty()) return f;
    double s_yu = 0.0, s_uu = 0.0;
    for (std::size_t i = 0; i < d.x.size(); ++i) {
        const double u = 1.0 / d.x[i];
        s_yu += d.w[i] * d.y[i] * u;
        s_uu += d.w[i] * u * u;
    }
    f.amplitude_ms = s_yu / s_uu;
    for (std::size_t i = 0; i < d.x.size(); ++i) {
        const double r = d.y[i] - f.amplitude_ms / d.x[i];
        f.wsse += d.w[i] * r * r;
    }
    f.ok = true;
    return f;
}

}  // namespace

SideFit fit_side(std::span<const Bin> bins, int side, double min_abs_dT_ms) {
    if (side != 1 && side != -1) throw std::invalid_argument("eq1 fit_side: side must be +1 or -1");
    SideFit f;
    f.side = side;
    auto usable = [&](const Bin& b) {
        return b.centre_dT_ms * side > 0.0 && b.n >= 2 && b.sem_dW > 0.0 && std::isfinite(b.sem_dW) &&
               std::isfinite(b.mean_dW);
    };
    const Bin* peak = nullptr;
    for (const Bin& b : bins)
        if (usable(b) && (!peak || std::abs(b.mean_dW) > std::abs(peak->mean_dW))) peak = &b;
    if (!peak) return f;
    f.has_peak = true;
    f.peak_dT_ms = peak->centre_dT_ms;
    f.peak_mean_dW = peak->mean_dW;
    SideData d;
    for (const Bin& b : bins) {
        const double x = std::abs(b.centre_dT_ms);
        if (!usable(b) || x <= std::abs(peak->centre_dT_ms) || x < min_abs_dT_ms) continue;
        d.x.push_back(x);
        d.y.push_back(b.mean_dW);
        d.w.push_back(1.0 / (b.sem_dW * b.sem_dW));
    }
    f.n_bins = d.x.size();
    f.exponential = fit_exponential(d);
    f.inverse = fit_inverse(d);
    if (f.exponential.ok && f.inverse.ok && f.n_bins >= 3)
        f.winner = f.inverse.wsse < f.exponential.wsse ? Winner::Inverse : Winner::Exponential;
    return f;
}

CurveFits fit_curve(std::span<const Bin> bins, double min_abs_dT_ms) {
    return CurveFits{fit_side(bins, +1, min_abs_dT_ms), fit_side(bins, -1, min_abs_dT_ms)};
}

const char* to_string(Winner w) {
    switch (w) {
        case Winner::Exponential: return "exponential";
        case Winner::Inverse: return "inverse";
        case Winner::None: break;
    }
    return "none";
}

// --- Protocol --------------------------------------------------------------

void validate(const ProtocolOptions& o) {
    auto bad = [](const std::string& m) { throw std::invalid_argument("eq1 protocol: " + m); };
    if (o.trials == 0) bad("trials must be > 0");
    bin_count(o.window_ms, o.bin_ms);
    if (!std::isfinite(o.theta) || !std::isfinite(o.v_reset) || !(o.v_reset < o.theta))
        bad("theta and v_reset must be finite with v_reset < theta");
    if (!std::isfinite(o.eta)) bad("eta must be finite");
    if (o.slope_grid_per_ms.empty()) {
        if (!(o.slope_std_per_ms > 0.0) || !std::isfinite(o.slope_std_per_ms))
            bad("slope_std_per_ms must be positive and finite (or give a slope grid)");
    } else {
        for (double s : o.slope_grid_per_ms)
            if (!std::isfinite(s)) bad("slope grid values must be finite");
    }
    if (!(o.noise_sigma_per_sqrt_ms >= 0.0) || !std::isfinite(o.noise_sigma_per_sqrt_ms))
        bad("noise_sigma_per_sqrt_ms must be >= 0 and finite");
    if (o.firing == Firing::Deterministic) {
        if (o.noise_sigma_per_sqrt_ms != 0.0) bad("noise is not allowed with deterministic firing");
    } else {
        if (!(o.rho_max_per_ms > 0.0) || !std::isfinite(o.rho_max_per_ms))
            bad("rho_max_per_ms must be positive and finite");
        if (!(o.beta >= 0.0) || !std::isfinite(o.beta)) bad("beta must be >= 0 and finite");
    }
}

ProtocolOptions widen_for_grid(const ProtocolOptions& o, double max_window_ms) {
    double slowest = 0.0;  // min |slope| over the non-zero grid slopes
    for (double sl : o.slope_grid_per_ms)
        if (sl != 0.0 && (slowest == 0.0 || std::abs(sl) < slowest)) slowest = std::abs(sl);
    ProtocolOptions w = o;
    if (slowest == 0.0) return w;
    const double need = 2.0 * o.theta / slowest;
    if (need > max_window_ms)
        throw std::invalid_argument("eq1 protocol: the slowest grid slope " + std::to_string(slowest) +
                                    "/ms needs a window of " + std::to_string(need) + " ms, more than " +
                                    std::to_string(max_window_ms) + " ms");
    if (need > o.window_ms) w.window_ms = std::ceil(need / o.bin_ms - 1e-9) * o.bin_ms;
    return w;
}

Trial simulate_trial(const ProtocolOptions& o, std::uint64_t trial, std::vector<Pair>& out) {
    Scratch sc;
    return trial_impl(o, trial, out, sc);
}

ProtocolResult run_protocol(const ProtocolOptions& o, const std::function<void(std::size_t, std::size_t)>& progress) {
    validate(o);
    std::mutex progress_mutex;
    std::uint64_t trials_done = 0;
    const std::uint64_t n_chunks = (o.trials + kChunkTrials - 1) / kChunkTrials;
    const std::size_t G = o.slope_grid_per_ms.size();
    std::vector<ChunkResult> chunks(static_cast<std::size_t>(n_chunks), ChunkResult(o));
    tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, n_chunks, 1), [&](const tbb::blocked_range<std::uint64_t>& r) {
        Scratch sc;
        std::vector<Pair> pairs;
        for (std::uint64_t c = r.begin(); c != r.end(); ++c) {
            ChunkResult& cr = chunks[static_cast<std::size_t>(c)];
            const std::uint64_t end = std::min(o.trials, (c + 1) * kChunkTrials);
            for (std::uint64_t i = c * kChunkTrials; i < end; ++i) {
                trial_impl(o, i, pairs, sc);
                for (const Pair& p : pairs) cr.bins.add(p.dT_ms, p.dW);
                cr.bins.close_replicate();  // trials are the independent replicates
                if (G > 0) {
                    const std::size_t g = static_cast<std::size_t>(i % G);
                    ++cr.trials_per_slope[g];
                    double sum = 0.0, sum_sq = 0.0;
                    for (const Pair& p : pairs) {
                        sum += p.dT_ms;
                        sum_sq += p.dT_ms * p.dT_ms;
                    }
                    cr.dT_per_slope[g].add_replicate(sum, pairs.size(), sum_sq);
                }
                cr.pairs += pairs.size();
                if (pairs.empty()) ++cr.without;
                cr.pairs_per_trial.add(static_cast<double>(pairs.size()));
            }
            if (progress) {
                const std::lock_guard<std::mutex> lock(progress_mutex);
                trials_done += end - c * kChunkTrials;
                progress(static_cast<std::size_t>(trials_done), static_cast<std::size_t>(o.trials));
            }
        }
    });
    // Merge in chunk order: bit-identical for any thread count.
    ChunkResult total(o);
    for (const ChunkResult& cr : chunks) {
        total.bins.merge(cr.bins);
        for (std::size_t g = 0; g < G; ++g) {
            total.dT_per_slope[g].merge(cr.dT_per_slope[g]);
            total.trials_per_slope[g] += cr.trials_per_slope[g];
        }
        total.pairs += cr.pairs;
        total.without += cr.without;
        total.pairs_per_trial.merge(cr.pairs_per_trial);
    }
    ProtocolResult res;
    res.options = o;
    res.bins = total.bins.bins();
    res.fits = fit_curve(res.bins);
    res.trials = o.trials;
    res.pairs = total.pairs;
    res.trials_without_pairs = total.without;
    res.pairs_per_trial_mean = total.pairs_per_trial.mean;
    res.pairs_per_trial_variance = total.pairs_per_trial.variance();
    for (std::size_t g = 0; g < G; ++g) {
        ParametricPoint p;
        p.slope_per_ms = o.slope_grid_per_ms[g];
        p.trials = total.trials_per_slope[g];
        p.pairs = total.dT_per_slope[g].n;
        p.mean_dT_ms = total.dT_per_slope[g].mean();
        p.sem_dT_ms = total.dT_per_slope[g].sem();
        p.mean_dW = p.pairs > 0 ? o.eta * p.slope_per_ms : 0.0;
        res.parametric.push_back(p);
    }
    return res;
}

}  // namespace spikeem::eq1

#pragma once
// Plasticity rules: parameters, per-synapse state, per-postsynaptic-neuron
// state and hooks.  Rules never iterate over synapses: the loop lives once in
// PlasticSynapses (plastic_synapses.hpp) and calls these hooks per synapse.
//
// A rule R provides
//   struct Pre;    per synapse (presynaptic traces)
//   struct Post;   per postsynaptic neuron and projection (postsynaptic traces)
//   struct Now;    what every hook of one event needs of its time t (the
//                  traces' decay factors at t): computed once per presynaptic
//                  arrival or postsynaptic spike, not once per synapse
//   struct PostNow; Post's values at the current time (read once per synapse)
//   Now now(Tick t) const;
//   PostNow post_at(const Post&, const Now&) const;
//   double depression(Pre&, const PostNow&, const Now&) const;   at a pre arrival: -dw / f_minus(w), then updates Pre
//   double potentiation(Pre&, const PostNow&, const Now&) const; at a post arrival: dw / f_plus(w), then updates Pre
//   void post_spike(Post&, const Now&) const;                     after all synapses saw the post arrival
//   bool pre_shared() const;  true if Pre changes only in depression and the same way for every
//                             synapse of a delay group (not depending on PostNow): then
//                             PlasticSynapses keeps one Pre per delay group, not per synapse
//   Pre pre_at(const Pre&, const Now&) const;  (rules that can share Pre) the state as of the
//                             current era: depression from it gives the same bits as from the
//                             state it came from, so a delay group's state moves once per spike
//   double depression_amount(const Pre&, const PostNow&, const Now&) const;  (rules that can
//                             share Pre) what depression() returns from a state as of the
//                             current era, without updating it: a delay group computes its
//                             update once per spike, and per synapse only this amount
//
// Traces.  A trace x decays as exp(-t/tau) between jumps.  Reading it at
// every synapse with an exp of its own cost two library calls per synaptic
// event (a fifth of the time of a network with pair STDP).  So each trace is stored as its
// value at the start of an era (ScaledTrace): x(t) = X exp(-(t - t_m)/tau)
// for t in era m, [t_m, t_m + period).  The factor exp(-(t - t_m)/tau) is
// the same for every trace of that time constant, so one event computes it
// once (Now) and each synapse multiplies.  A jump of a at t adds
// a exp(+(t - t_m)/tau) to X.  The era (kEraTaus shortest time constants
// of the rule) keeps exp(+(t - t_m)/tau) far from overflow; a trace last
// changed in an earlier era is carried into the current one with an exp of
// its own, at most once per era.  Every operation on a trace depends on its
// own history and on the times only, never on which event computed Now, so
// the results are the same bits on any partitioning.
#include <algorithm>
#include <cmath>

#include "plasticity/params.hpp"
#include "sim/time.hpp"

namespace spikeem {

// The length of the eras of a rule's scaled traces: kEraTaus of its shortest time constant
// (tau_min_ms), in ticks.  exp(kEraTaus) = 3.9e55, so a scaled trace stays
// far from overflow whatever its time constant (the longer ones grow less).
constexpr double kEraTaus = 128.0;
inline Tick era_length(double tau_min_ms, const TimeBase& time) {
    const double ticks = std::floor(kEraTaus * tau_min_ms / time.resolution_ms());
    return static_cast<Tick>(std::clamp(ticks, 1.0, 0x1p52));
}

// One time constant's scaled traces (see the top of this file).  Times are >= 0.
class ScaledTrace {
public:
    ScaledTrace(double tau_ms, Tick period, const TimeBase& time)
        : inv_tau_(time.resolution_ms() / tau_ms), period_(period) {}

    // At time t in era m: shrink = exp(-(t - t_m)/tau) turns a scaled value into
    // the trace's value, grow = exp(+(t - t_m)/tau) a jump into its scaled size.
    struct At {
        double shrink, grow;
    };
    At at(Tick t, Tick era) const {
        const double d = static_cast<double>(t - era * period_) * inv_tau_;
        return {std::exp(-d), std::exp(d)};
    }
    Tick era(Tick t) const { return t / period_; }
    Tick era_ticks() const { return period_; }

    // X, scaled in era e, scaled in era m >= e instead.
    double carry(double x, Tick e, Tick m) const {
        return e == m ? x : x * std::exp(-static_cast<double>((m - e) * period_) * inv_tau_);
    }

private:
    double inv_tau_;
    Tick period_;
};

class PairStdp {
public:
    // x scaled in `era` (ScaledTrace); {0, 0} is a trace that never jumped.
    struct Pre {
        double x = 0.0;
        Tick era = 0;
    };
    struct Post {
        double y = 0.0;
        Tick era = 0;
    };
    struct PostNow {
        double y;
    };
    struct Now {
        Tick era;
        ScaledTrace::At plus, minus;
    };

    PairStdp(const PairStdpParams& p, const TimeBase& time)
        : p_(p),
          plus_(p.tau_plus_ms, era_length(std::min(p.tau_plus_ms, p.tau_minus_ms), time), time),
          minus_(p.tau_minus_ms, plus_.era_ticks(), time) {}

    Now now(Tick t) const {
        const Tick e = plus_.era(t);
        return {e, plus_.at(t, e), minus_.at(t, e)};
    }
    PostNow post_at(const Post& s, const Now& n) const {
        return {minus_.carry(s.y, s.era, n.era) * n.minus.shrink};
    }
    Pre pre_at(const Pre& s, const Now& n) const { return {plus_.carry(s.x, s.era, n.era), n.era}; }

    // Presynaptic-centred pairing consumes the trace at a post spike, synapse by synapse.
    bool pre_shared() const { return p_.pairing != Pairing::NearestPresynapticCentred; }

    double depression_amount(const Pre&, const PostNow& post, const Now&) const { return p_.a_minus_mV * post.y; }
    double depression(Pre& pre, const PostNow& post, const Now& n) const {
        const double dw = depression_amount(pre, post, n);  // (the amount does not read pre)
        const double x = plus_.carry(pre.x, pre.era, n.era);
        // All-to-all and presynaptic-centred accumulate pre spikes; symmetric nearest keeps the last.
        pre.x = p_.pairing == Pairing::NearestSymmetric ? n.plus.grow : x + n.plus.grow;
        pre.era = n.era;
        return dw;
    }

    double potentiation(Pre& pre, const PostNow&, const Now& n) const {
        const double x = plus_.carry(pre.x, pre.era, n.era) * n.plus.shrink;
        if (p_.pairing == Pairing::NearestPresynapticCentred) {
            // Each pre spike pairs with the first post spike after it only: consumed.
            pre.x = 0.0;
            pre.era = n.era;
        }
        return p_.a_plus_mV * x;
    }

    void post_spike(Post& s, const Now& n) const {
        const double y = minus_.carry(s.y, s.era, n.era);
        // Depression pairs a pre spike with the last post spike only, except all-to-all.
        s.y = p_.pairing == Pairing::AllToAll ? y + n.minus.grow : n.minus.grow;
        s.era = n.era;
    }

private:
    PairStdpParams p_;
    ScaledTrace plus_, minus_;  // plus_ first: the others take its era length
};

class TripletStdp {
public:
    // r1 (tau_plus), r2 (tau_x), o1 (tau_minus), o2 (tau_y) scaled in `era` (ScaledTrace).
    struct Pre {
        double r1 = 0.0, r2 = 0.0;
        Tick era = 0;
    };
    struct Post {
        double o1 = 0.0, o2 = 0.0;
        Tick era = 0;
    };
    struct PostNow {
        double o1, o2;
    };
    struct Now {
        Tick era;
        ScaledTrace::At plus, x, minus, y;
    };

    TripletStdp(const TripletStdpParams& p, const TimeBase& time)
        : p_(p),
          plus_(p.tau_plus_ms, era_length(std::min({p.tau_plus_ms, p.tau_minus_ms, p.tau_x_ms, p.tau_y_ms}), time),
                time),
          minus_(p.tau_minus_ms, plus_.era_ticks(), time),
          x_(p.tau_x_ms, plus_.era_ticks(), time),
          y_(p.tau_y_ms, plus_.era_ticks(), time) {}

    Now now(Tick t) const {
        const Tick e = plus_.era(t);
        return {e, plus_.at(t, e), x_.at(t, e), minus_.at(t, e), y_.at(t, e)};
    }
    PostNow post_at(const Post& s, const Now& n) const {
        return {minus_.carry(s.o1, s.era, n.era) * n.minus.shrink, y_.carry(s.o2, s.era, n.era) * n.y.shrink};
    }

    bool pre_shared() const { return true; }  // r1, r2 change at pre spikes only
    Pre pre_at(const Pre& s, const Now& n) const {
        return {plus_.carry(s.r1, s.era, n.era), x_.carry(s.r2, s.era, n.era), n.era};
    }

    // `pre` as of the current era (pre_at): r2 before this spike.
    double depression_amount(const Pre& pre, const PostNow& post, const Now& n) const {
        return post.o1 * (p_.a2_minus_mV + p_.a3_minus_mV * (pre.r2 * n.x.shrink));
    }
    double depression(Pre& pre, const PostNow& post, const Now& n) const {
        const Pre now = pre_at(pre, n);
        const double dw = depression_amount(now, post, n);
        pre.r1 = p_.nearest_spike ? n.plus.grow : now.r1 + n.plus.grow;
        pre.r2 = p_.nearest_spike ? n.x.grow : now.r2 + n.x.grow;
        pre.era = n.era;
        return dw;
    }

    double potentiation(Pre& pre, const PostNow& post, const Now& n) const {
        const double r1 = plus_.carry(pre.r1, pre.era, n.era) * n.plus.shrink;
        return r1 * (p_.a2_plus_mV + p_.a3_plus_mV * post.o2);  // o2 before this spike
    }

    void post_spike(Post& s, const Now& n) const {
        const double o1 = minus_.carry(s.o1, s.era, n.era);
        const double o2 = y_.carry(s.o2, s.era, n.era);
        s.o1 = p_.nearest_spike ? n.minus.grow : o1 + n.minus.grow;
        s.o2 = p_.nearest_spike ? n.y.grow : o2 + n.y.grow;
        s.era = n.era;
    }

private:
    TripletStdpParams p_;
    ScaledTrace plus_, minus_, x_, y_;  // plus_ first: the others take its era length
};

// Rate form of Eq. 1 (RateSlopeParams).  Both read-outs are traces with
// unit jumps; the pre trace x is per synapse, the post trace y per neuron.
// Every hook first integrates -c2 * integral(x y) from the synapse's last touch
// to now (no post spike can lie in between: post spikes touch every synapse of
// their neuron), then applies its own part.  Its traces are (value, time)
// pairs, decayed with an exp each when read.
class RateSlope {
public:
    struct Pre {
        double x = 0.0;
        Tick t = 0;
    };
    struct Post {
        double y = 0.0;  // just after the last post spike
        Tick t = 0;      // time of the last post spike
    };
    using PostNow = Post;
    using Now = Tick;  // its traces keep (value, time) pairs: settle() needs each pair's own times

    Now now(Tick t) const { return t; }

    RateSlope(const RateSlopeParams& p, const TimeBase& time)
        : res_ms_(time.resolution_ms()),
          tau_x_(p.tau_pre_ms),
          tau_y_(p.tau_post_ms),
          tau_xy_(p.tau_pre_ms * p.tau_post_ms / (p.tau_pre_ms + p.tau_post_ms)),
          c_spike_(p.eta_mV_ms / (p.tau_pre_ms * p.tau_post_ms)),
          c_flow_(p.eta_mV_ms / (p.tau_pre_ms * p.tau_post_ms * p.tau_post_ms)) {}

    PostNow post_at(const Post& s, Tick) const { return s; }

    bool pre_shared() const { return false; }  // settle() integrates x y per synapse at post spikes too

    // Returned as a depression: w -= value.
    double depression(Pre& pre, const PostNow& post, Tick t) const {
        const double flow = settle(pre, post, t);
        pre.x += 1.0;
        return flow;
    }
    // Returned as a potentiation: w += value (may be negative).
    double potentiation(Pre& pre, const PostNow& post, Tick t) const {
        const double flow = settle(pre, post, t);
        return c_spike_ * pre.x - flow;
    }
    void post_spike(Post& s, Tick t) const {
        s.y = s.y * std::exp(-static_cast<double>(t - s.t) * res_ms_ / tau_y_) + 1.0;
        s.t = t;
    }

private:
    // c_flow * integral over [pre.t, t] of x(u) y(u) du; moves pre to t.
    double settle(Pre& pre, const PostNow& post, Tick t) const {
        const double dt = static_cast<double>(t - pre.t) * res_ms_;
        const double y0 = post.y * std::exp(-static_cast<double>(pre.t - post.t) * res_ms_ / tau_y_);
        const double integral = pre.x * y0 * tau_xy_ * -std::expm1(-dt / tau_xy_);
        pre.x *= std::exp(-dt / tau_x_);
        pre.t = t;
        return c_flow_ * integral;
    }

    double res_ms_, tau_x_, tau_y_, tau_xy_, c_spike_, c_flow_;
};

// Inhibitory STDP (InhibitoryStdpParams; Vogels et al. 2011), all-to-all:
// both traces add 1 per spike.  The pre trace changes at presynaptic arrivals
// only, the same way for every synapse of a delay group, so it can be shared.
// The update at a presynaptic arrival, eta (x_post - alpha), has either sign;
// it is returned as a depression (w -= value), so the rule is additive only.
class InhibitoryStdp {
public:
    // The same traces as pair STDP's (one decay time constant here).
    using Pre = PairStdp::Pre;
    using Post = PairStdp::Post;
    using PostNow = PairStdp::PostNow;
    struct Now {
        Tick era;
        ScaledTrace::At at;
    };

    InhibitoryStdp(const InhibitoryStdpParams& p, const TimeBase& time)
        : eta_(p.eta_mV), alpha_(p.alpha()), trace_(p.tau_ms, era_length(p.tau_ms, time), time) {}

    Now now(Tick t) const {
        const Tick e = trace_.era(t);
        return {e, trace_.at(t, e)};
    }
    PostNow post_at(const Post& s, const Now& n) const { return {trace_.carry(s.y, s.era, n.era) * n.at.shrink}; }
    bool pre_shared() const { return true; }
    Pre pre_at(const Pre& s, const Now& n) const { return {trace_.carry(s.x, s.era, n.era), n.era}; }

    // eta (alpha - x_post), x_post without a post spike at this tick (pre comes first).
    double depression_amount(const Pre&, const PostNow& post, const Now&) const { return eta_ * (alpha_ - post.y); }
    double depression(Pre& pre, const PostNow& post, const Now& n) const {
        pre.x = trace_.carry(pre.x, pre.era, n.era) + n.at.grow;
        pre.era = n.era;
        return depression_amount(pre, post, n);
    }
    // eta x_pre, x_pre including a pre arrival at this tick.
    double potentiation(Pre& pre, const PostNow&, const Now& n) const {
        return eta_ * (trace_.carry(pre.x, pre.era, n.era) * n.at.shrink);
    }
    void post_spike(Post& s, const Now& n) const {
        s.y = trace_.carry(s.y, s.era, n.era) + n.at.grow;
        s.era = n.era;
    }

private:
    double eta_, alpha_;
    ScaledTrace trace_;
};

}  // namespace spikeem

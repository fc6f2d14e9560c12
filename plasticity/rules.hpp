#pragma once
// Plasticity rules: parameters, per-synapse state, per-postsynaptic-neuron
// state and hooks.  Rules never iterate over synapses: the loop lives once in
// PlasticSynapses (plastic_synapses.hpp) and calls these hooks per synapse.
//
// A rule R provides
//   struct Pre;    per synapse (presynaptic traces)
//   struct Post;   per postsynaptic neuron and projection (postsynaptic traces)
//   struct PostNow; Post's values decayed to the current time (read once per event)
//   PostNow post_at(const Post&, Tick t) const;
//   double depression(Pre&, const PostNow&, Tick t) const;   at a pre arrival: -dw / f_minus(w), then updates Pre
//   double potentiation(Pre&, const PostNow&, Tick t) const; at a post arrival: dw / f_plus(w), then updates Pre
//   void post_spike(Post&, Tick t) const;                     after all synapses saw the post arrival
//   bool pre_shared() const;  true if Pre changes only in depression and the same way for every
//                             synapse of a delay group (not depending on PostNow): then
//                             PlasticSynapses keeps one Pre per delay group, not per synapse
//   Pre pre_at(const Pre&, Tick t) const;  (rules that can share Pre) the state with its traces
//                             decayed to t: depression from it gives the same bits as from the
//                             state it came from (decay(0) is exactly 1), so a delay group's
//                             traces decay once per spike, not once per synapse
// Traces are (value, time of value) pairs decayed in closed form when read.
#include <cmath>

#include "plasticity/params.hpp"
#include "sim/time.hpp"

namespace spikeem {

// exp(-dt / tau) for dt in ticks, with 1/tau precomputed in 1/ticks.
inline double decay(Tick dt, double inv_tau_ticks) {
    return dt == 0 ? 1.0 : std::exp(-static_cast<double>(dt) * inv_tau_ticks);
}

class PairStdp {
public:
    struct Pre {
        double x = 0.0;
        Tick t = 0;
    };
    struct Post {
        double y = 0.0;
        Tick t = 0;
    };
    struct PostNow {
        double y;
    };

    PairStdp(const PairStdpParams& p, const TimeBase& time)
        : p_(p),
          inv_tau_plus_(time.resolution_ms() / p.tau_plus_ms),
          inv_tau_minus_(time.resolution_ms() / p.tau_minus_ms) {}

    PostNow post_at(const Post& s, Tick t) const { return {s.y * decay(t - s.t, inv_tau_minus_)}; }
    Pre pre_at(const Pre& s, Tick t) const { return {s.x * decay(t - s.t, inv_tau_plus_), t}; }

    // Presynaptic-centred pairing consumes the trace at a post spike, synapse by synapse.
    bool pre_shared() const { return p_.pairing != Pairing::NearestPresynapticCentred; }

    double depression(Pre& pre, const PostNow& post, Tick t) const {
        const double dw = p_.a_minus_mV * post.y;
        const double x = pre.x * decay(t - pre.t, inv_tau_plus_);
        // All-to-all and presynaptic-centred accumulate pre spikes; symmetric nearest keeps the last.
        pre.x = p_.pairing == Pairing::NearestSymmetric ? 1.0 : x + 1.0;
        pre.t = t;
        return dw;
    }

    double potentiation(Pre& pre, const PostNow&, Tick t) const {
        const double x = pre.x * decay(t - pre.t, inv_tau_plus_);
        if (p_.pairing == Pairing::NearestPresynapticCentred) {
            // Each pre spike pairs with the first post spike after it only: consumed.
            pre.x = 0.0;
            pre.t = t;
        }
        return p_.a_plus_mV * x;
    }

    void post_spike(Post& s, Tick t) const {
        const double y = s.y * decay(t - s.t, inv_tau_minus_);
        // Depression pairs a pre spike with the last post spike only, except all-to-all.
        s.y = p_.pairing == Pairing::AllToAll ? y + 1.0 : 1.0;
        s.t = t;
    }

private:
    PairStdpParams p_;
    double inv_tau_plus_, inv_tau_minus_;
};

class TripletStdp {
public:
    struct Pre {
        double r1 = 0.0, r2 = 0.0;
        Tick t = 0;
    };
    struct Post {
        double o1 = 0.0, o2 = 0.0;
        Tick t = 0;
    };
    struct PostNow {
        double o1, o2;
    };

    TripletStdp(const TripletStdpParams& p, const TimeBase& time)
        : p_(p),
          inv_tau_plus_(time.resolution_ms() / p.tau_plus_ms),
          inv_tau_minus_(time.resolution_ms() / p.tau_minus_ms),
          inv_tau_x_(time.resolution_ms() / p.tau_x_ms),
          inv_tau_y_(time.resolution_ms() / p.tau_y_ms) {}

    PostNow post_at(const Post& s, Tick t) const {
        return {s.o1 * decay(t - s.t, inv_tau_minus_), s.o2 * decay(t - s.t, inv_tau_y_)};
    }

    bool pre_shared() const { return true; }  // r1, r2 change at pre spikes only
    Pre pre_at(const Pre& s, Tick t) const {
        return {s.r1 * decay(t - s.t, inv_tau_plus_), s.r2 * decay(t - s.t, inv_tau_x_), t};
    }

    double depression(Pre& pre, const PostNow& post, Tick t) const {
        const double r1 = pre.r1 * decay(t - pre.t, inv_tau_plus_);
        const double r2 = pre.r2 * decay(t - pre.t, inv_tau_x_);
        const double dw = post.o1 * (p_.a2_minus_mV + p_.a3_minus_mV * r2);  // r2 before this spike
        pre.r1 = p_.nearest_spike ? 1.0 : r1 + 1.0;
        pre.r2 = p_.nearest_spike ? 1.0 : r2 + 1.0;
        pre.t = t;
        return dw;
    }

    double potentiation(Pre& pre, const PostNow& post, Tick t) const {
        const double r1 = pre.r1 * decay(t - pre.t, inv_tau_plus_);
        return r1 * (p_.a2_plus_mV + p_.a3_plus_mV * post.o2);  // o2 before this spike
    }

    void post_spike(Post& s, Tick t) const {
        PostNow now = post_at(s, t);
        s.o1 = p_.nearest_spike ? 1.0 : now.o1 + 1.0;
        s.o2 = p_.nearest_spike ? 1.0 : now.o2 + 1.0;
        s.t = t;
    }

private:
    TripletStdpParams p_;
    double inv_tau_plus_, inv_tau_minus_, inv_tau_x_, inv_tau_y_;
};

// Rate form of Eq. 1 (RateSlopeParams).  Both read-outs are traces with
// unit jumps; the pre trace x is per synapse, the post trace y per neuron.
// Every hook first integrates -c2 * integral(x y) from the synapse's last touch
// to now (no post spike can lie in between: post spikes touch every synapse of
// their neuron), then applies its own part.
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

    InhibitoryStdp(const InhibitoryStdpParams& p, const TimeBase& time)
        : eta_(p.eta_mV), alpha_(p.alpha()), inv_tau_(time.resolution_ms() / p.tau_ms) {}

    PostNow post_at(const Post& s, Tick t) const { return {s.y * decay(t - s.t, inv_tau_)}; }
    bool pre_shared() const { return true; }
    Pre pre_at(const Pre& s, Tick t) const { return {s.x * decay(t - s.t, inv_tau_), t}; }

    // eta (alpha - x_post), x_post without a post spike at this tick (pre comes first).
    double depression(Pre& pre, const PostNow& post, Tick t) const {
        pre.x = pre.x * decay(t - pre.t, inv_tau_) + 1.0;
        pre.t = t;
        return eta_ * (alpha_ - post.y);
    }
    // eta x_pre, x_pre including a pre arrival at this tick.
    double potentiation(Pre& pre, const PostNow&, Tick t) const {
        return eta_ * (pre.x * decay(t - pre.t, inv_tau_));
    }
    void post_spike(Post& s, Tick t) const {
        s.y = s.y * decay(t - s.t, inv_tau_) + 1.0;
        s.t = t;
    }

private:
    double eta_, alpha_, inv_tau_;
};

}  // namespace spikeem

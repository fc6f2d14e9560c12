#pragma once
// Eq. 1 with the postsynaptic voltage: dW = eta * S_pre * dV_post/dt.
//
// Event flow for one presynaptic spike and one delay group of synapses, at
// synapse arrival time t (all reads are of the target neuron's soma voltage):
//   central only, at t - T: before_arrival() stores V(t - T) per synapse;
//   at t, before the PSP:   before_transmit() stores V(t-) (or dV/dt for Analytic)
//                           and the weight being transmitted;
//   at t, after the PSP:    after_transmit() applies the Analytic update, or
//                           asks for a probe at t + T;
//   at t + T:               on_probe() reads V(t + T), removes the spike's own
//                           PSP if asked, and applies the update.
// Records wait in FIFOs: T is one constant per projection, and the probes of a
// projection come in the same order as their arrivals (same event keys), so
// the record at the front is always the one a probe needs.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "plasticity/membrane.hpp"
#include "plasticity/params.hpp"
#include "sim/time.hpp"

namespace spikeem {

// One update a voltage rule made, for analyses that pair it with spikes.
struct SlopeUpdate {
    Tick t_arrival;       // synapse time of the presynaptic spike
    std::uint32_t synapse;
    double dw;            // as computed, before clipping to the bounds
};

class VoltageSlopeSynapses {
public:
    VoltageSlopeSynapses(const VoltageSlopeParams& p, const PlasticitySpec& spec, const TimeBase& time)
        : p_(p),
          w_min_(spec.w_min_mV),
          w_max_(spec.w_max_mV),
          window_(time.round(p.window_ms)),
          ms_per_tick_(time.resolution_ms()) {}

    SlopeEstimate estimate() const { return p_.estimate; }
    Tick window() const { return window_; }

    void before_arrival(Tick t, std::uint32_t begin, std::uint32_t n, const std::uint32_t* targets,
                        Membrane& post) {
        for (std::uint32_t k = begin; k < begin + n; ++k) back_.push_back(post.observe_voltage_mV(targets[k], t));
    }

    // Returns false (and records nothing) while the rule is switched off.
    bool before_transmit(Tick t, std::uint32_t begin, std::uint32_t n, const double* w,
                         const std::uint32_t* targets, Membrane& post) {
        if (gain_ == 0.0) {
            // Off: the central difference's V(t - T) values of this arrival are dropped.  They
            // follow those of the arrivals still waiting for their probe (and precede those of
            // later arrivals whose t - T has passed already).
            if (p_.estimate == SlopeEstimate::Central) {
                std::size_t offset = 0;
                for (const Pending& p : pending_) offset += p.n;
                back_.erase(back_.begin() + static_cast<std::ptrdiff_t>(offset),
                            back_.begin() + static_cast<std::ptrdiff_t>(offset + n));
            }
            return false;
        }
        for (std::uint32_t k = begin; k < begin + n; ++k) {
            const std::uint32_t j = targets[k];
            const double v = post.observe_voltage_mV(j, t);
            values_.push_back(p_.estimate == SlopeEstimate::Analytic ? post.drift_mV_per_ms(j, t) : v);
            values_.push_back(w[k]);
        }
        pending_.push_back(Pending{t, begin, n, gain_});
        return true;
    }

    // Returns true when a probe must be scheduled at t + window().
    bool after_transmit(double* w) {
        if (p_.estimate != SlopeEstimate::Analytic) return true;
        const Pending rec = pending_.back();
        pending_.pop_back();
        for (std::uint32_t i = 0; i < rec.n; ++i) {
            const double slope = values_[values_.size() - 2 * rec.n + 2 * i];
            apply(rec.t, rec.begin + i, rec.gain * p_.eta_ms * slope, w);
        }
        values_.resize(values_.size() - 2 * rec.n);
        return false;
    }

    void on_probe(Tick t, double* w, const std::uint32_t* targets, Membrane& post) {
        const Pending rec = pending_.front();
        pending_.pop_front();
        const double T = static_cast<double>(window_);
        for (std::uint32_t i = 0; i < rec.n; ++i) {
            const std::uint32_t k = rec.begin + i, j = targets[k];
            const double v_before = values_.front();
            values_.pop_front();
            const double w_sent = values_.front();
            values_.pop_front();
            double v_after = post.observe_voltage_mV(j, t);
            if (p_.exclude_own_psp) v_after -= post.psp_mV(j, w_sent, rec.t, t);
            double dw;
            if (p_.estimate == SlopeEstimate::Central) {
                const double v_back = back_.front();
                back_.pop_front();
                dw = rec.gain * p_.eta_ms * (v_after - v_back) / (2.0 * T * ms_per_tick_);
            } else {
                dw = rec.gain * p_.eta_ms * (v_after - v_before) / (T * ms_per_tick_);
            }
            apply(rec.t, k, dw, w);
        }
    }

    // Tied weights (Projection::tie): after each update, copy the weight of
    // synapse k to twin_w[twin_index[k]] (the same pair, other direction).
    void set_twin(double* twin_w, const std::uint32_t* twin_index) {
        twin_w_ = twin_w;
        twin_index_ = twin_index;
    }

    void enable_log(bool on) { log_enabled_ = on; }
    // Scales eta for presynaptic spikes arriving from now on (0 switches the
    // rule off, e.g. outside the nudged phase of a supervised experiment).
    void set_gain(double gain) { gain_ = gain; }
    const std::vector<SlopeUpdate>& log() const { return log_; }
    void clear_log() { log_.clear(); }

private:
    struct Pending {
        Tick t;
        std::uint32_t begin, n;
        double gain;
    };
    void apply(Tick t, std::uint32_t k, double dw, double* w) {
        if (log_enabled_) log_.push_back({t, k, dw});
        w[k] = std::clamp(w[k] + dw, w_min_, w_max_);
        if (twin_w_ != nullptr) twin_w_[twin_index_[k]] = w[k];
    }

    VoltageSlopeParams p_;
    double w_min_, w_max_;
    Tick window_;
    double ms_per_tick_;
    std::deque<Pending> pending_;
    std::deque<double> values_;  // per pending synapse: V(t-) or dV/dt, then the weight sent
    std::deque<double> back_;    // central: V(t - T) per synapse, in arrival order
    double* twin_w_ = nullptr;
    const std::uint32_t* twin_index_ = nullptr;
    bool log_enabled_ = false;
    double gain_ = 1.0;
    std::vector<SlopeUpdate> log_;
};

}  // namespace spikeem

#pragma once
// Eq. 1 with the postsynaptic voltage: dW = eta * S_pre * dV_post/dt.
//
// Event flow for one presynaptic spike and one delay group of synapses, at
// arrival time t (soma time; all reads are of the target neuron's soma voltage):
//   central only, at t - T: read_before() stores V(t - T) per synapse;
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
#include <memory>
#include <vector>

#include "plasticity/membrane.hpp"
#include "plasticity/params.hpp"
#include "plasticity/synapse_rule.hpp"
#include "sim/time.hpp"

namespace spikeem {

class VoltageSlopeSynapses final : public SynapseRule {
public:
    VoltageSlopeSynapses(const VoltageSlopeParams& p, const PlasticitySpec& spec, const TimeBase& time)
        : p_(p),
          w_min_(spec.w_min_mV),
          w_max_(spec.w_max_mV),
          window_(time.round(p.window_ms)),
          ms_per_tick_(time.resolution_ms()) {}

    SlopeEstimate estimate() const { return p_.estimate; }
    Tick window() const { return window_; }

    // The FIFOs follow the arrivals at one partition's targets.
    bool per_partition() const override { return true; }
    std::unique_ptr<SynapseRule> clone() const override { return std::make_unique<VoltageSlopeSynapses>(*this); }
    bool reads_before_arrival() const override { return p_.estimate == SlopeEstimate::Central; }
    Tick lead() const override { return window_; }
    Tick probe_delay() const override { return window_; }

    void read_before(const Arrival& a) override {
        for (std::uint32_t k = a.begin; k < a.begin + a.n; ++k)
            back_.push_back(a.post.observe_voltage_mV(a.targets[k], a.t_soma));
    }

    void before_transmit(const Arrival& a) override {
        recorded_ = record(a.t_soma, a.begin, a.n, a.weights, a.targets, a.post);
    }
    bool after_transmit(const Arrival& a) override {
        if (!recorded_) return false;
        recorded_ = false;
        return apply_or_probe(a.weights);
    }

    void on_probe(Tick t, double* w, const std::uint32_t* targets, Membrane& post) override {
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
    void share_weights_with(double* twin_w, const std::uint32_t* twin_index) override {
        twin_w_ = twin_w;
        twin_index_ = twin_index;
    }

    void enable_log(bool on) override { log_enabled_ = on; }
    // Scales eta for presynaptic spikes arriving from now on (0 switches the
    // rule off, e.g. outside the nudged phase of a supervised experiment).
    void set_gain(double gain) override { gain_ = gain; }
    const std::vector<SlopeUpdate>* log() const override { return &log_; }
    void clear_log() override { log_.clear(); }

    void save_state(StateWriter& w) const override {
        w.section("voltage_slope");
        w.values(pending_);
        w.values(values_);
        w.values(back_);
        w.value(log_enabled_);
        w.value(gain_);
        w.values(log_);
    }
    void load_state(StateReader& r) override {
        r.section("voltage_slope");
        r.values(pending_);
        r.values(values_);
        r.values(back_);
        r.value(log_enabled_);
        r.value(gain_);
        r.values(log_);
    }

private:
    struct Pending {
        Tick t;
        std::uint32_t begin, n;
        double gain;
    };

    // Stores V(t-) (or dV/dt) and the weight sent per synapse.  Returns false
    // (and records nothing) while the rule is switched off.
    bool record(Tick t, std::uint32_t begin, std::uint32_t n, const double* w, const std::uint32_t* targets,
                Membrane& post) {
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
    bool apply_or_probe(double* w) {
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
    bool recorded_ = false;  // before_transmit recorded the arrival that after_transmit completes
    double gain_ = 1.0;
    std::vector<SlopeUpdate> log_;
};

}  // namespace spikeem

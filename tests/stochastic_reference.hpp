#pragma once
// The noise-free stochastic neuron (StochasticParams) in closed form, the
// reference of test_stochastic_neuron and test_voltage_slope: a neuron that
// never fires, the PSP of one input, and the exact propagation of V and the
// synaptic current between events.
#include <cmath>

#include "network/spec.hpp"
#include "sim/time.hpp"

namespace spikeem::test {

// A neuron that never fires within any of these tests: rho <= 1e-9 Hz.
inline StochasticParams silent(double tau_m, double v_rest, double drive, double slope, double tau_syn, double v0) {
    StochasticParams p;
    p.tau_m_ms = tau_m;
    p.v_rest_mV = v_rest;
    p.drive_mV = drive;
    p.drive_slope_mV_per_ms = slope;
    p.tau_syn_ms = tau_syn;
    p.rho_max_hz = 1e-9;
    p.v_init_mV = v0;
    return p;
}

// The PSP of one input of weight w, h ms after its arrival, without resets.
inline double psp(double w, double h, double tau_m, double tau_syn) {
    if (tau_syn == 0.0) return w * std::exp(-h / tau_m);
    return w * tau_m / (tau_syn - tau_m) * (std::exp(-h / tau_syn) - std::exp(-h / tau_m));
}

// One input to the neuron.
struct Input {
    Tick t;    // arrival at the soma
    double w;  // mV
};

// The neuron's state: V and the synaptic current I (0 for delta inputs).
struct RefState {
    double v, i;  // mV, mV/ms
};

// Exact solution of tau dV/dt = -(V - mu(t)) + tau I, dI/dt = -I/tau_syn over dt ms from t0 ms.
inline RefState propagate(const StochasticParams& p, RefState s, double t0, double dt) {
    const double tau = p.tau_m_ms, sl = p.drive_slope_mV_per_ms;
    auto vr = [&](double t) { return p.v_rest_mV + p.drive_mV + sl * (t - tau); };
    const double em = std::exp(-dt / tau);
    double v = vr(t0 + dt) + (s.v - vr(t0)) * em;
    if (p.tau_syn_ms == 0.0) return {v, 0.0};
    const double ts = p.tau_syn_ms, es = std::exp(-dt / ts);
    v += s.i * tau * ts / (ts - tau) * (es - em);
    return {v, s.i * es};
}

}  // namespace spikeem::test

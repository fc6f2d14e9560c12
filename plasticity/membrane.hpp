#pragma once
// What a voltage-based rule may ask of a postsynaptic neuron.  Populations of
// neurons implement it (network/population.hpp); rules see nothing else of
// the network, so plasticity/ stays below network/.
#include <cstdint>

#include "sim/time.hpp"

namespace spikeem {

class Membrane {
public:
    // V (mV) of neuron `local` at time t (>= its last event), advancing the
    // neuron to t when its state between events is random (noise): the draw is
    // then part of the realisation.  Without noise this is a pure read.
    virtual double observe_voltage_mV(std::uint32_t local, Tick t) = 0;
    // The deterministic part of dV/dt (mV/ms) at t, inputs at t excluded.
    virtual double drift_mV_per_ms(std::uint32_t local, Tick t) const = 0;
    // What one input of weight w delivered at t_in still contributes to V at
    // t_now >= t_in, given the neuron's resets since (a reset removes it).
    virtual double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const = 0;

protected:
    ~Membrane() = default;
};

}  // namespace spikeem

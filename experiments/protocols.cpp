#include "experiments/protocols.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include "network/simulation.hpp"

namespace spikeem {

NetworkSpec pairing_network(const PairingProtocol& p, double dt_ms) {
    // Times at the synapse: pre arrival a_k = t0 + k T, post arrival b_k = a_k + dt.
    // The post neuron fires at b_k - d_den, forced by a 100 mV input arriving
    // then from a driver with a 1 ms delay.  The plastic synapse (w0, small)
    // cannot fire the neuron by itself, and a refractory period of 1 ms keeps
    // the driver's spike single.
    const double period = 1000.0 / p.frequency_hz;
    const double drive_delay = 1.0;
    const double t0 = 200.0 + std::abs(dt_ms) + p.axonal_delay_ms + p.dendritic_delay_ms;
    std::vector<double> pre, driver;
    for (int k = 0; k < p.pairings; ++k) {
        const double a = t0 + k * period;
        pre.push_back(a - p.axonal_delay_ms);
        driver.push_back(a + dt_ms - p.dendritic_delay_ms - drive_delay);
    }
    NetworkSpec s;
    s.name = "pairing";
    s.run.duration_ms = t0 + (p.pairings - 1) * period + std::abs(dt_ms) + 200.0;
    LifDeltaParams post{10.0, -70.0, -70.0, -55.0, 1.0, -70.0};
    s.populations = {PopulationSpec{"pre", 1, SpikeTimesParams{{pre}}},
                     PopulationSpec{"driver", 1, SpikeTimesParams{{driver}}}, PopulationSpec{"post", 1, post}};
    ProjectionSpec plastic;
    plastic.name = "pre->post";
    plastic.source = "pre";
    plastic.target = "post";
    plastic.connectivity = AllToAll{};
    plastic.weight_mV = p.w0_mV;
    plastic.delay_ms = p.axonal_delay_ms;
    plastic.dendritic_delay_ms = p.dendritic_delay_ms;
    plastic.plasticity = p.rule;
    ProjectionSpec drive;
    drive.name = "driver->post";
    drive.source = "driver";
    drive.target = "post";
    drive.connectivity = AllToAll{};
    drive.weight_mV = 100.0;
    drive.delay_ms = drive_delay;
    s.projections = {plastic, drive};
    return s;
}

PairingResult run_pairing(const PairingProtocol& p, double dt_ms) {
    Simulation sim(pairing_network(p, dt_ms));
    sim.run();
    const double w = sim.weights_now(0).at(0).w;
    PairingResult r{dt_ms, p.frequency_hz, w - p.w0_mV, (w - p.w0_mV) / p.w0_mV, sim.summary(2).spikes};
    if (r.post_spikes != static_cast<std::uint64_t>(p.pairings))
        throw std::runtime_error("pairing protocol: the postsynaptic neuron fired " + std::to_string(r.post_spikes) +
                                 " times instead of " + std::to_string(p.pairings) +
                                 " (is the plastic weight large enough to fire it, or the frequency too high?)");
    return r;
}

std::vector<PairingResult> run_pairings(const PairingProtocol& protocol, const std::vector<double>& dts_ms,
                                        const std::vector<double>& frequencies_hz,
                                        const std::function<void(std::size_t, std::size_t)>& progress) {
    std::vector<PairingResult> out(dts_ms.size() * frequencies_hz.size());
    std::mutex progress_mutex;
    std::size_t done = 0;
    tbb::parallel_for(std::size_t{0}, out.size(), [&](std::size_t i) {
        PairingProtocol p = protocol;
        p.frequency_hz = frequencies_hz[i / dts_ms.size()];
        out[i] = run_pairing(p, dts_ms[i % dts_ms.size()]);
        if (progress) {
            const std::lock_guard<std::mutex> lock(progress_mutex);
            progress(++done, out.size());
        }
    });
    return out;
}

}  // namespace spikeem

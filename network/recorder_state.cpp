// Recorders' part of a checkpoint (see Recorders::save_state).  Probe
// definitions (neurons, grids, filters) come from the spec; what is written
// here is only what recording has accumulated.
#include "network/recorders.hpp"

namespace spikeem {

void Recorders::save_state(StateWriter& w) const {
    w.section("recorders");
    w.value(static_cast<std::uint64_t>(shares_.size()));
    for (const Share& sh : shares_) {
        // Rows move into the outputs at the end of every run_until (collect),
        // so the shares hold only counts between calls; bin counts start at
        // the first bin not drained (bin_base_).
        w.values(sh.spike_count);
        w.nested(sh.bin_count);
    }
    w.values(bin_base_);
    for (const RateProbe& probe : rate_probes_) {
        w.nested(probe.recent);
        w.values(probe.trace);
        w.values(probe.trace_t);
        w.values(probe.trace_n);
    }
    w.values(isi_);
    w.values(spikes_);
    for (const VoltageValues& held : voltage_values_) {
        w.value(static_cast<std::uint64_t>(held.first));
        w.values(held.v_mV);
    }
    w.values(weight_samples_);
    w.values(rate_samples_);
}

void Recorders::load_state(StateReader& r) {
    r.section("recorders");
    r.expect(static_cast<std::uint64_t>(shares_.size()), "the partition count");
    for (Share& sh : shares_) {
        // What the new simulation's start recorded (a neuron that starts above
        // threshold spikes at t = 0) belongs to the saved run's past: it is in the rows read below.
        sh.spikes.clear();
        sh.weight_samples.clear();
        sh.rate_samples.clear();
        r.same_size(sh.spike_count, "spike counts");
        const std::size_t probes = sh.bin_count.size();
        r.nested(sh.bin_count);
        if (sh.bin_count.size() != probes) throw StateMismatch("recorders: the population-rate probes differ");
    }
    r.same_size(bin_base_, "drained bins");
    for (RateProbe& probe : rate_probes_) {
        const std::size_t slots = probe.recent.size();
        r.nested(probe.recent);
        if (probe.recent.size() != slots) throw StateMismatch("recorders: the rate probes differ");
        r.same_size(probe.trace, "rate traces");
        r.same_size(probe.trace_t, "rate trace times");
        r.same_size(probe.trace_n, "rate trace counts");
    }
    r.same_size(isi_, "spike statistics");
    r.values(spikes_);
    for (std::size_t k = 0; k < voltage_values_.size(); ++k) {
        VoltageValues& held = voltage_values_[k];
        std::uint64_t first = 0;
        r.value(first);
        held.first = static_cast<std::size_t>(first);
        r.values(held.v_mV);
        const std::size_t n = voltage_probes_[k].neurons.size();
        if (n == 0 ? !held.v_mV.empty() : held.v_mV.size() % n != 0)
            throw StateMismatch("recorders: the voltage probes differ");
    }
    voltage_rows_built_ = false;
    r.values(weight_samples_);
    r.values(rate_samples_);
}

}  // namespace spikeem

#include "network/simulation.hpp"

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>
#include <variant>

#include "network/models/poisson.hpp"
#include "network/models/stochastic.hpp"

namespace spikeem {

namespace {
// Hooks for populations' start(): each call goes to the partition owning the neuron.
class StartRouter final : public EngineHooks {
public:
    StartRouter(const Network& net, const PartitionLayout& layout, std::vector<std::unique_ptr<Partition>>& parts)
        : net_(net), layout_(layout), parts_(parts) {}
    void schedule(const Event& e) override { of(e.src).schedule(e); }
    void schedule_own(std::uint32_t global, Tick t) override { of(global).schedule_own(global, t); }
    void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) override {
        parts_[layout_.owner(population, neuron)]->emit_spike(population, neuron, t);
    }

private:
    Partition& of(std::uint32_t global) {
        const std::uint32_t p = net_.population_of(global);
        return *parts_[layout_.owner(p, global - net_.offset(p))];
    }
    const Network& net_;
    const PartitionLayout& layout_;
    std::vector<std::unique_ptr<Partition>>& parts_;
};
// A population's spikes per second and neuron for the work estimate
// (PartitionPlan): a source's own rate, neurons a nominal one.
double nominal_rate_hz(const PopulationSpec& p, double duration_ms) {
    if (const auto* poisson = std::get_if<PoissonParams>(&p.model)) {
        if (!poisson->rate_table.rate_hz.empty())
            return *std::max_element(poisson->rate_table.rate_hz.begin(), poisson->rate_table.rate_hz.end());
        if (!poisson->rates_hz.empty()) {
            double sum = 0.0;
            for (const double r : poisson->rates_hz) sum += r;
            return sum / static_cast<double>(poisson->rates_hz.size());
        }
        return std::max(poisson->rate_hz, 0.0);
    }
    if (const auto* times = std::get_if<SpikeTimesParams>(&p.model)) {
        double spikes = 0.0;
        for (const auto& train : times->times_ms) spikes += static_cast<double>(train.size());
        return p.size == 0 || !(duration_ms > 0.0) ? 0.0 : spikes * 1000.0 / (duration_ms * p.size);
    }
    return PartitionPlan::kNominalNeuronRateHz;
}
}  // namespace

Simulation::Simulation(NetworkSpec spec, unsigned threads, Partitioning how)
    : spec_(std::move(spec)),
      time_(spec_.run.time_digits),
      net_(spec_, time_),
      lookahead_(net_.lookahead()),
      plan_(plan_partitions(threads, how)),
      layout_(net_, plan_.partitions),
      recorders_(spec_, net_, time_, layout_.count,
                 [this](std::uint32_t p, std::uint32_t local) { return layout_.owner(p, local); }) {
    for (std::size_t j = 0; j < net_.num_projections(); ++j) net_.projection(j).use_partitions(layout_.count);
    for (std::uint32_t q = 0; q < layout_.count; ++q)
        parts_.push_back(std::make_unique<Partition>(net_, layout_, recorders_, q, time_,
                                                     plan_.drive_per_ms / layout_.count));
    slope_logs_.resize(net_.num_projections());
    start();
}

Simulation::~Simulation() = default;

PartitionPlan Simulation::plan_partitions(unsigned threads, Partitioning how) const {
    PartitionPlan plan;
    plan.threads = std::max(threads, 1u);
    plan.lookahead = lookahead_;
    // Events per ms of simulated time (the estimate of PartitionPlan).
    std::vector<double> rate_hz(spec_.populations.size());
    double per_ms = 0.0;
    for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
        rate_hz[p] = nominal_rate_hz(spec_.populations[p], spec_.run.duration_ms);
        per_ms += spec_.populations[p].size * rate_hz[p] / 1000.0;
        if (!net_.population(p).is_neuron())  // a spike source
            plan.drive_per_ms += spec_.populations[p].size * rate_hz[p] / 1000.0;
    }
    for (std::size_t j = 0; j < net_.num_projections(); ++j) {
        const Projection& pj = net_.projection(j);
        per_ms += static_cast<double>(pj.num_synapses()) * rate_hz[pj.source_population()] / 1000.0;
        if (!net_.population(pj.source_population()).is_neuron())  // about one delivery per source spike
            plan.drive_per_ms += spec_.populations[pj.source_population()].size * rate_hz[pj.source_population()] / 1000.0;
    }
    for (std::size_t k = 0; k < net_.num_poisson_inputs(); ++k) {
        const PoissonInputSpec& in = spec_.poisson_inputs[k];
        const std::uint32_t size = spec_.populations[net_.find_population(in.target)].size;
        const double neurons = in.target_range ? in.target_range->end - in.target_range->begin : size;
        per_ms += neurons * in.sources * in.rate_hz / 1000.0;  // (drawn in batches, not in the drive calendar)
    }
    plan.events_per_epoch = lookahead_ == kNever ? std::numeric_limits<double>::infinity()
                                                 : per_ms * time_.to_ms(lookahead_);
    const double fit = std::floor(plan.events_per_epoch / PartitionPlan::kMinEventsPerPartition);
    plan.by_work = fit >= plan.threads ? plan.threads : static_cast<std::uint32_t>(std::max(fit, 1.0));
    plan.partitions = how == Partitioning::ByWork ? plan.by_work : plan.threads;
    if (plan.partitions < plan.threads) plan.limit = "work";
    bool tied = false;
    for (std::size_t j = 0; j < net_.num_projections(); ++j) tied = tied || net_.projection(j).tied();
    // Some effect is due at the very tick of its spike: no epoch fits.
    if (lookahead_ < 1 || tied) {
        plan.partitions = plan.by_work = 1;
        if (plan.threads > 1) plan.limit = lookahead_ < 1 ? "lookahead 0" : "tied weights";
    }
    return plan;
}

void Simulation::start() {
    for (std::uint32_t q = 0; q < layout_.count; ++q)
        for (const Event& e : recorders_.first_samples(q)) parts_[q]->schedule(e);
    // Sweeps: every partition sweeps its chunk of the population; partition 0
    // also when its chunk is empty, and counts every sweep event once.
    for (std::uint32_t p = 0; p < net_.num_populations(); ++p) {
        if (net_.population(p).sweep_period() == kNever) continue;
        for (std::uint32_t q = 0; q < layout_.count; ++q)
            if (q == 0 || layout_.bounds[p][q] < layout_.bounds[p][q + 1])
                parts_[q]->schedule(Event{0, net_.offset(p) + layout_.bounds[p][q], p, 0, EventKind::Sweep});
    }
    for (std::size_t p = 0; p < net_.num_populations(); ++p) next_rebase_.push_back(net_.population(p).rebase_period());
    StartRouter router(net_, layout_, parts_);
    for (std::size_t p = 0; p < net_.num_populations(); ++p) net_.population(p).start(router);
    for (std::size_t k = 0; k < net_.num_poisson_inputs(); ++k) net_.poisson_input(k).start();
    for (std::size_t k = 0; k < net_.num_current_inputs(); ++k) net_.current_input(k).start(router);
}

void Simulation::run_until(Tick end) {
    recorders_.reserve(now_, end);
    // In segments between the rebase instants of the populations (multiples
    // of their periods, the same for any partitioning): a population is
    // rebased when everything before the instant is done and nothing after it.
    while (now_ < end) {
        Tick due = kNever;
        for (Tick t : next_rebase_) due = std::min(due, t);
        const Tick stop = std::min(end, due);
        if (parts_.size() == 1) parts_[0]->run(stop);
        else run_epochs(stop);
        now_ = stop;
        if (stop == due) rebase_at(stop);
    }
    recorders_.collect();
    if (parts_.size() > 1) merge_rule_logs();
}

void Simulation::rebase_at(Tick t) {
    for (std::size_t p = 0; p < net_.num_populations(); ++p) {
        if (next_rebase_[p] != t) continue;
        Population& pop = net_.population(p);
        pop.rebase(t);
        const Tick period = pop.rebase_period();
        next_rebase_[p] = t > kNever - period ? kNever : t + period;
    }
}

namespace {
// Spins of a runner waiting at an epoch's end before it sleeps: some tens of
// microseconds, longer than most epochs of a network that gains from threads.
constexpr unsigned kSpins = 2048;

// A short wait inside a spin loop (the PAUSE instruction where there is one).
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

// Epochs [start, stop) of at most the lookahead: a spike at t in one can only
// affect another partition from t + lookahead >= stop on.  An epoch is a few
// microseconds of work on small networks, far less than waking a sleeping
// thread, so the threads stay in one parallel region for the whole call and
// meet at each epoch's end on an atomic counter instead of forking and joining
// per epoch.  Runner r runs partitions r, r + T, ... (they stay in its cache)
// and, when it has waited a while for the others, runs any partition of the
// epoch nobody has claimed yet: so a runner that TBB starts late, or never,
// only costs time, never a deadlock (a runner waits only for partitions that
// are claimed, hence being run).  A runner that has spun for a while (other
// processes have the cores, or the others' partitions hold more work) claims
// what is left of the epoch and then sleeps on the counter (futex) until a
// partition finishes, instead of burning a core.  Which thread runs a partition changes
// nothing: its epoch's input is complete before it starts (release/acquire on
// the counter) and its work depends on nothing else.
void Simulation::run_epochs(Tick end) {
    const std::size_t parts = parts_.size();
    const Tick start = now_;
    const std::uint64_t epochs = static_cast<std::uint64_t>(
        lookahead_ >= end - start ? 1 : (end - start + lookahead_ - 1) / lookahead_);
    const unsigned parity0 = parity_;
    auto stop_of = [&](std::uint64_t e) {
        return e + 1 >= epochs ? end : start + static_cast<Tick>(e + 1) * lookahead_;
    };
    std::vector<std::atomic<std::uint64_t>> claimed(parts);  // per partition: epochs claimed so far
    for (auto& c : claimed) c.store(0, std::memory_order_relaxed);
    std::atomic<std::uint64_t> done{0};  // partition-epochs finished
    // A partition that throws (out of memory, a broken invariant) stops every
    // runner, which would otherwise wait for it forever; rethrown below.
    std::atomic<bool> failed{false};
    std::exception_ptr failure;
    const std::size_t runners =
        std::min<std::size_t>(parts, static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency())));

    auto try_run = [&](std::size_t q, std::uint64_t e) {
        std::uint64_t expected = e;
        if (!claimed[q].compare_exchange_strong(expected, e + 1, std::memory_order_acq_rel)) return;
        try {
            parts_[q]->epoch(stop_of(e), parity0 ^ static_cast<unsigned>(e & 1), parts_);
        } catch (...) {
            if (!failed.exchange(true)) failure = std::current_exception();
        }
        done.fetch_add(1, std::memory_order_release);
        done.notify_all();
    };
    auto runner = [&](std::size_t r) {
        // A late runner joins at the epoch under way.
        for (std::uint64_t e = done.load(std::memory_order_acquire) / parts; e < epochs; ++e) {
            for (std::size_t q = r; q < parts; q += runners) try_run(q, e);
            const std::uint64_t target = (e + 1) * parts;
            for (unsigned spins = 1;; ++spins) {
                const std::uint64_t now = done.load(std::memory_order_acquire);
                if (now >= target || failed.load(std::memory_order_relaxed)) break;
                if (spins % 32 == 0 || spins >= kSpins)
                    for (std::size_t q = 0; q < parts; ++q) try_run(q, e);  // help a late runner
                if (spins >= kSpins) {
                    // Every partition of the epoch is claimed now (the loop above), so
                    // each runs and its end wakes us: sleeping cannot deadlock.
                    if (done.load(std::memory_order_acquire) == now) done.wait(now, std::memory_order_acquire);
                    continue;
                }
                relax();
            }
            if (failed.load(std::memory_order_relaxed)) return;
        }
    };
    tbb::task_group group;
    for (std::size_t r = 1; r < runners; ++r) group.run([&runner, r] { runner(r); });
    runner(0);
    group.wait();
    if (failure) std::rethrow_exception(failure);
    parity_ = parity0 ^ static_cast<unsigned>(epochs & 1);
}

void Simulation::merge_rule_logs() {
    for (std::size_t j = 0; j < net_.num_projections(); ++j) {
        Projection& pj = net_.projection(j);
        if (pj.rule_copies() < 2) continue;
        std::vector<SlopeUpdate>& log = slope_logs_[j];
        const std::size_t old = log.size();
        for (std::size_t q = 0; q < pj.rule_copies(); ++q) {
            SynapseRule& rule = pj.rule_copy(q);
            if (const std::vector<SlopeUpdate>* part = rule.log()) log.insert(log.end(), part->begin(), part->end());
            rule.clear_log();
        }
        // Serial order: the updates of one projection are applied at arrival
        // time + a constant, by event key, then synapse: storage order is by
        // (source, delay group, target), so (arrival, synapse) is that order.
        std::stable_sort(log.begin() + static_cast<std::ptrdiff_t>(old), log.end(),
                         [](const SlopeUpdate& a, const SlopeUpdate& b) {
                             return a.t_arrival != b.t_arrival ? a.t_arrival < b.t_arrival : a.synapse < b.synapse;
                         });
    }
}

void Simulation::set_drive(std::size_t population, std::uint32_t neuron, double drive_mV) {
    auto* p = dynamic_cast<StochasticPopulation*>(&net_.population(population));
    if (p == nullptr) throw std::invalid_argument("set_drive: population \"" + net_.population(population).name() +
                                                  "\" is not stochastic");
    p->set_drive(*parts_[layout_.owner(static_cast<std::uint32_t>(population), neuron)], neuron, now_, drive_mV);
}

void Simulation::set_rate(std::size_t population, std::uint32_t neuron, double rate_hz) {
    auto* p = dynamic_cast<PoissonPopulation*>(&net_.population(population));
    if (p == nullptr) throw std::invalid_argument("set_rate: population \"" + net_.population(population).name() +
                                                  "\" is not a Poisson source");
    p->set_rate(*parts_[layout_.owner(static_cast<std::uint32_t>(population), neuron)], neuron, now_, rate_hz);
}

void Simulation::set_plasticity_gain(std::size_t projection, double gain) {
    Projection& pj = net_.projection(projection);
    for (std::size_t q = 0; q < pj.rule_copies(); ++q) pj.rule_copy(q).set_gain(gain);
}

void Simulation::enable_slope_log(std::size_t projection) {
    Projection& pj = net_.projection(projection);
    for (std::size_t q = 0; q < pj.rule_copies(); ++q) pj.rule_copy(q).enable_log(true);
}

const std::vector<SlopeUpdate>& Simulation::slope_log(std::size_t projection) const {
    static const std::vector<SlopeUpdate> none;
    const Projection& pj = net_.projection(projection);
    if (pj.rule_copies() > 1) return slope_logs_[projection];
    const std::vector<SlopeUpdate>* log = pj.rule() ? pj.rule()->log() : nullptr;
    return log ? *log : none;
}

std::uint64_t Simulation::events_processed() const {
    std::uint64_t n = 0;
    for (const auto& p : parts_) n += p->events_processed();
    return n;
}

std::uint64_t Simulation::synaptic_events() const {
    std::uint64_t n = 0;
    for (const auto& p : parts_) n += p->synaptic_events();
    return n;
}

std::string Simulation::save_state() const {
    StateWriter w;
    w.section("simulation");
    w.value(static_cast<std::uint64_t>(parts_.size()));
    w.value(now_);
    w.value(parity_);
    w.values(next_rebase_);
    w.nested(slope_logs_);
    net_.save_state(w);
    for (const auto& part : parts_) part->save_state(w);
    recorders_.save_state(w);
    return w.take();
}

void Simulation::load_state(std::string_view state) {
    if (now_ != 0 || events_processed() != 0)
        throw std::logic_error("Simulation::load_state: the simulation has run already");
    StateReader r(state);
    r.section("simulation");
    r.expect(static_cast<std::uint64_t>(parts_.size()), "the partition count");
    r.value(now_);
    r.value(parity_);
    r.same_size(next_rebase_, "rebase times");
    r.nested(slope_logs_);
    if (slope_logs_.size() != net_.num_projections()) throw StateMismatch("simulation: the projections differ");
    net_.load_state(r);
    for (const auto& part : parts_) part->load_state(r);
    recorders_.load_state(r);
    if (!r.done()) throw StateMismatch("the state goes on after its end");
}

}  // namespace spikeem

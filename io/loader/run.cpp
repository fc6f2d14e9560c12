// The run section: time resolution, duration and seed; and the limits that the
// resolution sets on every time and rate in the spec (check_limits).
#include <fmt/format.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "io/loader/sections.hpp"

namespace spikeem::io::loader {

std::string resolution_label(const TimeBase& time) { return fmt::format("the resolution {}", num(time.resolution_ms())); }

TimeBase load_run(const proto::Run& run, const Node& rn, const SpecOverrides& o, Validator& v, RunSpec& out) {
    int digits = 6;
    if (run.has_resolution_ns()) {
        double r = run.resolution_ns();
        double l = std::isfinite(r) && r > 0 ? std::log10(r) : NAN;
        if (!std::isfinite(l) || std::abs(l - std::round(l)) > 1e-9 || std::round(l) < -3 || std::round(l) > 6)
            v.fail(rn, "resolution_ns", num(r), "must be a power of ten from 0.001 to 1000000 (ns)");
        else
            digits = 6 - static_cast<int>(std::round(l));
    }
    out.time_digits = digits;
    TimeBase time(digits);
    if (run.has_duration_ms()) {
        double d = run.duration_ms();
        Node rd = rn;  // a value from --duration-ms has no place in the file
        if (o.duration_ms) rd = Node{&run, nullptr, "(--duration-ms) run"};
        v.positive(rd, "duration_ms", d, "ms");
        // A run shorter than one tick simulates nothing, yet would write a complete-looking 0 ms run.
        if (std::isfinite(d) && d > 0.0 && time.round(d) < 1)
            v.fail(rd, "duration_ms", num(d),
                   fmt::format("must be at least {} (one tick; ms)", resolution_label(time)));
        // Ticks are signed 64-bit: the run's end must stay well inside them.
        if (std::isfinite(d) && d * static_cast<double>(time.ticks_per_ms()) > 4.0e18)
            v.fail(rd, "duration_ms", num(d),
                   fmt::format("too long for the resolution {} ns (at most {} ms)", time.resolution_ns(),
                               num(4.0e18 / static_cast<double>(time.ticks_per_ms()))));
        out.duration_ms = d;
    }
    if (run.has_seed()) out.seed = run.seed();
    return time;
}

namespace {

// 10^17 ticks in ms: a power of ten at most 1/64 of the largest tick, so that a
// time plus several durations (start + delays + windows + 40 tau of a rebase
// period) still fits; at 1 ns it is 10^11 ms (three years), at 1 ps 10^8 ms (a day).
double largest_time_ms(const TimeBase& time) {
    return std::pow(10.0, std::floor(std::log10(time.max_ms() / 64.0)));
}

// The message types of the neuron models, whose time constants set how often
// each neuron is rebased (every 30 to 40 tau, network/models/lif_*.cpp).
bool neuron_model(const pb::Descriptor* d) {
    return d == proto::LifDelta::descriptor() || d == proto::LifExp::descriptor() ||
           d == proto::LifCondExp::descriptor() || d == proto::AdEx::descriptor() ||
           d == proto::Stochastic::descriptor();
}

// A time or a duration in ms: a name ending in _ms, but not a rate per ms
// (nudge_per_ms, drive_slope_mV_per_ms) nor a learning rate (eta_ms, eta_mV_ms).
bool time_name(std::string_view name) {
    return name.ends_with("_ms") && !name.ends_with("_per_ms") && !name.starts_with("eta_");
}

// A rate at which events are drawn, one per tick at most: Poisson sources and
// the stochastic neuron's bound.  (poisson_input checks its own, times its sources.)
bool event_rate(const pb::Descriptor* d, std::string_view name) {
    return (d == proto::Stochastic::descriptor() && name == "rho_max_hz") ||
           (d == proto::PoissonSource::descriptor() && (name == "rate_hz" || name == "rates_hz")) ||
           (d == proto::RateTable::descriptor() && name == "rate_hz");
}

// Whether s is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0 || s.size() - i <= static_cast<std::size_t>(extra)) return false;  // truncated
        std::uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
        for (int k = 1; k <= extra; ++k) {
            const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

// s quoted, its bytes outside printable ASCII as \xHH: a message must itself be valid text.
std::string escaped(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            out += ch;
        else
            out += fmt::format("\\x{:02x}", c);
    }
    return out + "\"";
}

// What a number in the spec stands for, as far as the limits go.
enum class Kind { Other, Time, TimeConstant, Rate };

struct Limits {
    const TimeBase& time;
    Validator& v;
    double max_time_ms;  // every time and duration is <= this
    double per_tick_hz;  // every event rate is < this

    void value(const Node& n, const char* name, int index, double x, Kind kind) const {
        if (kind == Kind::Other || !std::isfinite(x)) return;  // non-finite values: the sections say so
        if ((kind == Kind::Time || kind == Kind::TimeConstant) && std::abs(x) > max_time_ms)
            v.fail(n, name, num(x),
                   fmt::format("must be <= {} (10^17 ticks at the resolution {} ms: times and durations are added "
                               "together in 64-bit ticks) (ms)",
                               num(max_time_ms), num(time.resolution_ms())),
                   index);
        else if (kind == Kind::TimeConstant && x > 0.0 && x < time.resolution_ms())
            v.fail(n, name, num(x), fmt::format("must be >= {} (one tick) (ms)", resolution_label(time)), index);
        else if (kind == Kind::Rate && x >= per_tick_hz)
            v.fail(n, name, num(x),
                   fmt::format("must be < {} (one event per tick at the resolution {} ms) (Hz)", num(per_tick_hz),
                               num(time.resolution_ms())),
                   index);
    }

    // The node of sub-message `sub` in field f of n: named as the sections name it
    // (population "E", projection "E->I", poisson_input "drive"), so that messages agree.
    Node node(const Node& n, const pb::FieldDescriptor* f, const pb::Message& sub, int index) const {
        const pb::FieldDescriptor* nf = sub.GetDescriptor()->FindFieldByName("name");
        if (index < 0 || nf == nullptr || nf->type() != pb::FieldDescriptor::TYPE_STRING)
            return n.child(f->name().c_str(), sub, index);
        std::string label = sub.GetReflection()->GetString(sub, nf);
        if (label.empty() && sub.GetDescriptor() == proto::Projection::descriptor()) {
            const auto& p = static_cast<const proto::Projection&>(sub);
            label = p.source() + "->" + p.target();
        }
        if (label.empty() || !valid_name(label)) return n.child(f->name().c_str(), sub, index);
        return n.named(f->name().c_str(), sub, index, label);
    }

    // A message's [start_ms, stop_ms) (probes, inputs, Poisson sources) must hold at
    // least one tick: a window shorter than that rounds to nothing and records or
    // sends nothing.  stop_ms <= start_ms and unbounded values are the sections' to report.
    void window(const Node& n) const {
        const pb::Message& m = *n.msg;
        const pb::FieldDescriptor* start = m.GetDescriptor()->FindFieldByName("start_ms");
        const pb::FieldDescriptor* stop = m.GetDescriptor()->FindFieldByName("stop_ms");
        if (start == nullptr || stop == nullptr || start->type() != pb::FieldDescriptor::TYPE_DOUBLE ||
            stop->type() != pb::FieldDescriptor::TYPE_DOUBLE || !m.GetReflection()->HasField(m, stop))
            return;
        const double a = m.GetReflection()->GetDouble(m, start), b = m.GetReflection()->GetDouble(m, stop);
        if (!(std::isfinite(a) && std::isfinite(b) && b > a && std::abs(a) <= max_time_ms && b <= max_time_ms)) return;
        if (time.round(b) <= time.round(a))
            v.fail(n, "stop_ms", num(b),
                   fmt::format("must be at least one tick after start_ms = {}: the window [start_ms, stop_ms) holds "
                               "no tick at {} (ms)",
                               num(a), resolution_label(time)));
    }

    // Every number below n (inherited: the kind of n's own field, for the numbers
    // inside a Distribution or a per_neuron value), and every field n's version of the
    // schema does not know (a binary spec keeps them aside; text refuses them on parsing).
    void walk(const Node& n, Kind inherited) const {
        const pb::Message& m = *n.msg;
        const pb::Reflection* r = m.GetReflection();
        const pb::UnknownFieldSet& unknown = r->GetUnknownFields(m);
        for (int k = 0; k < unknown.field_count(); ++k)
            v.fail_node(n, fmt::format("unknown field number {}: not in this version of spikeem.proto "
                                       "(a spec written for a newer spikeem?)",
                                       unknown.field(k).number()));
        const pb::Descriptor* d = m.GetDescriptor();
        // A per_neuron value has the unit of the parameter it spreads.
        if (d == proto::PerNeuron::descriptor()) {
            const std::string& param = static_cast<const proto::PerNeuron&>(m).parameter();
            inherited = !time_name(param)          ? Kind::Other
                        : param.starts_with("tau_") ? Kind::TimeConstant
                                                    : Kind::Time;
        }
        window(n);
        std::vector<const pb::FieldDescriptor*> fields;
        r->ListFields(m, &fields);
        for (const pb::FieldDescriptor* f : fields) {
            const std::string& name = f->name();
            Kind kind = inherited;
            if (time_name(name))
                kind = neuron_model(d) && name.starts_with("tau_") ? Kind::TimeConstant : Kind::Time;
            else if (event_rate(d, name))
                kind = Kind::Rate;
            // A Distribution's std is a spread, not a time: bounded, but it may be below a tick.
            if (d == proto::Normal::descriptor() && name == "std" && kind == Kind::TimeConstant) kind = Kind::Time;
            // Strings reach run.json and the outputs' headers, which must be valid text.
            if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
                const int count = f->is_repeated() ? r->FieldSize(m, f) : 1;
                for (int i = 0; i < count; ++i) {
                    const std::string text = f->is_repeated() ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
                    if (!valid_utf8(text))
                        v.fail(n, name.c_str(), escaped(text), "must be valid UTF-8 (it is written to run.json)",
                               f->is_repeated() ? i : -1);
                }
            } else if (f->type() == pb::FieldDescriptor::TYPE_DOUBLE) {
                if (f->is_repeated())
                    for (int i = 0; i < r->FieldSize(m, f); ++i)
                        value(n, name.c_str(), i, r->GetRepeatedDouble(m, f, i), kind);
                else
                    value(n, name.c_str(), -1, r->GetDouble(m, f), kind);
            } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
                // The run's duration has its own bound (load_run); a per_neuron value is set by its message.
                if (f->message_type() == proto::Run::descriptor()) continue;
                // A Distribution's numbers, in its uniform or normal, have the unit of its field.
                const Kind below = f->message_type() == proto::Distribution::descriptor() ||
                                           d == proto::Distribution::descriptor()
                                       ? kind
                                       : Kind::Other;
                if (f->is_repeated())
                    for (int i = 0; i < r->FieldSize(m, f); ++i)
                        walk(node(n, f, r->GetRepeatedMessage(m, f, i), i), below);
                else
                    walk(node(n, f, r->GetMessage(m, f), -1), below);
            }
        }
    }
};

}  // namespace

void check_file_limits(const proto::Spec& spec, const Node& root, const TimeBase& time, double duration_ms,
                       const std::vector<PopulationSpec>& pops, Validator& v) {
    const double max_time_ms = largest_time_ms(time);
    const double per_tick_hz = 1000.0 / time.resolution_ms();
    const std::string time_rule = fmt::format(
        "must be <= {} (10^17 ticks at the resolution {} ms: times and durations are added together in 64-bit "
        "ticks) (ms)",
        num(max_time_ms), num(time.resolution_ms()));
    for (int i = 0; i < spec.population_size() && static_cast<std::size_t>(i) < pops.size(); ++i) {
        const auto& p = spec.population(i);
        const Node pn = valid_name(p.name()) ? root.named("population", p, i, p.name()) : root.child("population", p, i);
        if (const auto* st = std::get_if<SpikeTimesParams>(&pops[i].model); st && !p.spike_times().file().empty()) {
            const Node sn = pn.child("spike_times", p.spike_times());
            // The first time too late only: a file can hold millions of rows.
            for (std::size_t k = 0; k < st->times_ms.size(); ++k) {
                const auto late = std::find_if(st->times_ms[k].begin(), st->times_ms[k].end(),
                                               [&](double t) { return t > max_time_ms; });
                if (late == st->times_ms[k].end()) continue;
                v.fail(sn, "file", fmt::format("\"{}\"", p.spike_times().file()),
                       fmt::format("neuron {}: t_ms = {}: {}", k, num(*late), time_rule));
                break;
            }
        }
        const auto* pp = std::get_if<PoissonParams>(&pops[i].model);
        // A ramp reaches its highest rate at the end of the run or at stop_ms.
        if (pp != nullptr && p.has_poisson() && pp->rate_slope_hz_per_s > 0.0) {
            const double end_ms = std::min(duration_ms, pp->stop_ms);
            const double peak_hz = pp->rate_hz + pp->rate_slope_hz_per_s * end_ms / 1000.0;
            if (std::isfinite(peak_hz) && peak_hz >= per_tick_hz)
                v.fail(pn.child("poisson", p.poisson()), "rate_slope_hz_per_s", num(pp->rate_slope_hz_per_s),
                       fmt::format("the rate reaches {} Hz at t = {} ms: must stay < {} (one event per tick at the "
                                   "resolution {} ms) (Hz/s)",
                                   num(peak_hz), num(end_ms), num(per_tick_hz), num(time.resolution_ms())));
        }
        if (pp == nullptr || !p.has_poisson() || p.poisson().rate_table().file().empty()) continue;
        const Node tn = pn.child("poisson", p.poisson()).child("rate_table", p.poisson().rate_table());
        const std::string quoted = fmt::format("\"{}\"", p.poisson().rate_table().file());
        const auto& table = pp->rate_table;
        for (std::size_t k = 0; k < table.t_ms.size(); ++k)
            if (table.t_ms[k] > max_time_ms) {
                v.fail(tn, "file", quoted, fmt::format("row {}: t_ms = {}: {}", k + 1, num(table.t_ms[k]), time_rule));
                break;
            }
        for (std::size_t k = 0; k < table.rate_hz.size(); ++k)
            if (table.rate_hz[k] >= per_tick_hz) {
                v.fail(tn, "file", quoted,
                       fmt::format("row {}: rate_hz = {}: must be < {} (one event per tick at the resolution {} ms) "
                                   "(Hz)",
                                   k + 1, num(table.rate_hz[k]), num(per_tick_hz), num(time.resolution_ms())));
                break;
            }
    }
}

void check_limits(const Node& root, const TimeBase& time, Validator& v) {
    const Limits limits{time, v, largest_time_ms(time), 1000.0 / time.resolution_ms()};
    limits.walk(root, Kind::Other);
}

}  // namespace spikeem::io::loader

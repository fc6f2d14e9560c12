#include "io/loader/validator.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <stdexcept>

namespace spikeem::io::loader {

void ParseErrors::AddError(int line, pb::io::ColumnNumber column, const std::string& message) {
    lines_.push_back(fmt::format("{}:{}:{}: {}", origin_, line + 1, column + 1, message));
}

void ParseErrors::AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) {
    AddError(line, column, message);
}

const pb::FieldDescriptor* Node::field(const char* name) const {
    const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(name);
    if (f == nullptr) throw std::logic_error(std::string("no field ") + name);
    return f;
}

Node Node::child(const char* name, const pb::Message& sub, int index) const {
    const ParseInfoTree* t = tree ? tree->GetTreeForNested(field(name), index) : nullptr;
    std::string p = path.empty() ? name : path + "." + name;
    if (index >= 0) p += fmt::format("[{}]", index);
    return Node{&sub, t, p};
}

Node Node::named(const char* name, const pb::Message& sub, int index, const std::string& label) const {
    Node n = child(name, sub, index);
    n.path = fmt::format("{} \"{}\"", name, label);
    return n;
}

std::string Node::where(const char* name, int index) const {
    if (tree == nullptr) return "";
    pb::TextFormat::ParseLocation loc{-1, -1};
    if (name == nullptr) return "";
    const pb::FieldDescriptor* f = field(name);
    // A repeated field has a location per element only: without an index there is none.
    if (f->is_repeated() != (index >= 0)) return "";
    loc = tree->GetLocation(f, index);
    // List syntax (`neuron: [0, 3]`) records one location for the whole list: point there.
    if (loc.line < 0 && index > 0) loc = tree->GetLocation(f, 0);
    if (loc.line < 0) return "";
    return fmt::format("{}:{}:", loc.line + 1, loc.column + 1);
}

std::string Node::at(const char* name, int index) const {
    std::string p = path.empty() ? name : path + "." + name;
    if (index >= 0) p += fmt::format("[{}]", index);
    return p;
}

std::string num(double x) { return fmt::format("{}", x); }

void Validator::fail(const Node& n, const char* name, const std::string& value, const std::string& what, int index) {
    std::string loc = n.where(name, index);
    std::string head = loc.empty() ? origin_ + ":" : origin_ + ":" + loc;
    if (value.empty())
        errors_.push_back(fmt::format("{} {}: {}", head, n.at(name, index), what));
    else
        errors_.push_back(fmt::format("{} {} = {}: {}", head, n.at(name, index), value, what));
}

void Validator::fail_node(const Node& n, const std::string& what) {
    errors_.push_back(fmt::format("{}: {}: {}", origin_, n.path, what));
}

bool Validator::finite(const Node& n, const char* name, double v, const char* unit) {
    if (std::isfinite(v)) return true;
    fail(n, name, num(v), fmt::format("must be a finite number ({})", unit));
    return false;
}

void Validator::positive(const Node& n, const char* name, double v, const char* unit) {
    if (!finite(n, name, v, unit)) return;
    if (!(v > 0)) fail(n, name, num(v), fmt::format("must be > 0 ({})", unit));
}

void Validator::non_negative(const Node& n, const char* name, double v, const char* unit) {
    if (!finite(n, name, v, unit)) return;
    if (!(v >= 0)) fail(n, name, num(v), fmt::format("must be >= 0 ({})", unit));
}

std::optional<Distribution> Validator::distribution(const Node& parent, const char* name, const proto::Distribution& d,
                                                    const char* unit, bool required, double min_value,
                                                    const std::string& min_label) {
    const bool positive_values = min_value > 0.0;
    const std::string bound = fmt::format("must be >= {} ({})", min_label, unit);
    Node n = parent.child(name, d);
    switch (d.kind_case()) {
        case proto::Distribution::KIND_NOT_SET:
            if (required)
                fail(parent, name, "", fmt::format("missing: expected constant, uniform or normal ({})", unit));
            return std::nullopt;
        case proto::Distribution::kConstant:
            if (!finite(n, "constant", d.constant(), unit)) return std::nullopt;
            if (positive_values && !(d.constant() >= min_value)) {
                fail(n, "constant", num(d.constant()), bound);
                return std::nullopt;
            }
            return Distribution{d.constant()};
        case proto::Distribution::kUniform: {
            Node u = n.child("uniform", d.uniform());
            bool ok = finite(u, "low", d.uniform().low(), unit) && finite(u, "high", d.uniform().high(), unit);
            if (ok && !(d.uniform().high() > d.uniform().low())) {
                fail(u, "high", num(d.uniform().high()),
                     fmt::format("must be > low = {} ({})", num(d.uniform().low()), unit));
                ok = false;
            }
            if (ok && positive_values && !(d.uniform().low() >= min_value)) {
                fail(u, "low", num(d.uniform().low()), bound);
                ok = false;
            }
            if (!ok) return std::nullopt;
            return Distribution{UniformDist{d.uniform().low(), d.uniform().high()}};
        }
        case proto::Distribution::kNormal: {
            const auto& m = d.normal();
            Node u = n.child("normal", m);
            bool ok = finite(u, "mean", m.mean(), unit) && finite(u, "std", m.std(), unit);
            if (ok && !(m.std() >= 0)) {
                fail(u, "std", num(m.std()), fmt::format("must be >= 0 ({})", unit));
                ok = false;
            }
            NormalDist nd{m.mean(), m.std()};
            if (m.has_min()) ok = finite(u, "min", m.min(), unit) && ok, nd.low = m.min();
            if (m.has_max()) ok = finite(u, "max", m.max(), unit) && ok, nd.high = m.max();
            if (ok && nd.low > nd.high) {
                fail(u, "max", num(nd.high), fmt::format("must be >= min = {} ({})", num(nd.low), unit));
                ok = false;
            }
            if (ok && positive_values && !(m.has_min() && m.min() >= min_value)) {
                fail(u, "min", m.has_min() ? num(m.min()) : "",
                     fmt::format("must be set and >= {} ({}): draws are clipped to it", min_label, unit));
                ok = false;
            }
            if (!ok) return std::nullopt;
            return Distribution{nd};
        }
    }
    return std::nullopt;
}

bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 200) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '>' || c == '+')) return false;
    return true;
}

std::pair<double, double> support(const Distribution& d) {
    if (auto* c = std::get_if<double>(&d)) return {*c, *c};
    if (auto* u = std::get_if<UniformDist>(&d)) return {u->low, u->high};
    const auto& n = std::get<NormalDist>(d);
    return {n.low, n.high};
}

}  // namespace spikeem::io::loader

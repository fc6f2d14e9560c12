#include "io/loader/validator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <tuple>

namespace spikeem::io::loader {

void ParseErrors::AddError(int line, pb::io::ColumnNumber column, const std::string& message) {
    lines_.push_back(fmt::format("{}:{}:{}: {}", origin_, line + 1, column + 1, parse_hint(message, text_, line)));
}

void ParseErrors::AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) {
    AddError(line, column, message);
}

namespace {

// Levenshtein distance, ignoring case (weight_mv is weight_mV mistyped).
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            const std::size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
            diagonal = row[j];
            row[j] = next;
        }
    }
    return row[b.size()];
}

// Whether `field` is `name` plus a unit suffix (tau_plus -> tau_plus_ms, rate -> rate_hz).
bool adds_unit(const std::string& field, const std::string& name) {
    if (name.empty() || field.size() <= name.size() + 1 || field.compare(0, name.size(), name) != 0 ||
        field[name.size()] != '_')
        return false;
    const std::string rest = field.substr(name.size() + 1);
    for (const char* unit : {"ms", "mV", "hz", "nS", "per_", "s"})
        if (rest == unit || rest.rfind(std::string(unit) + (unit[0] == 'p' ? "" : "_"), 0) == 0) return true;
    return false;
}

const pb::DescriptorPool& spec_pool() { return *proto::Spec::descriptor()->file()->pool(); }

// "a", "a" or "b", "a", "b" or "c".
std::string quoted_alternatives(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t k = 0; k < names.size(); ++k) {
        if (k > 0) out += k + 1 == names.size() ? " or " : ", ";
        out += "\"" + names[k] + "\"";
    }
    return out;
}

std::string unknown_field_hint(const std::string& type_name, const std::string& name) {
    const pb::Descriptor* type = spec_pool().FindMessageTypeByName(type_name);
    if (type == nullptr) return "";
    const std::vector<std::string> near = near_field_names(type_name, name);
    if (!near.empty()) return fmt::format("did you mean {}?", quoted_alternatives(near));
    std::string all;
    for (int k = 0; k < type->field_count(); ++k) all += (k > 0 ? ", " : "") + type->field(k)->name();
    return fmt::format("the fields of {} are {}", type->name(), all);
}

// Line `line` (0-based) of `text`, or "" past its end.
std::string_view line_of(std::string_view text, int line) {
    std::size_t begin = 0;
    for (int k = 0; k < line; ++k) {
        begin = text.find('\n', begin);
        if (begin == std::string_view::npos) return {};
        ++begin;
    }
    const std::size_t end = text.find('\n', begin);
    return text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

// The message types of the spikeem schema that some message field named `name` has.
std::vector<const pb::Descriptor*> message_types_of_field(const std::string& name) {
    std::vector<const pb::Descriptor*> types;
    const pb::FileDescriptor* file = proto::Spec::descriptor()->file();
    for (int m = 0; m < file->message_type_count(); ++m) {
        const pb::FieldDescriptor* f = file->message_type(m)->FindFieldByName(name);
        if (f != nullptr && f->message_type() != nullptr &&
            std::find(types.begin(), types.end(), f->message_type()) == types.end())
            types.push_back(f->message_type());
    }
    return types;
}

// `name: value` on the line where the parser wanted the "{" of message field `name`.
std::string scalar_for_message_hint(const std::string& found, std::string_view text, int line) {
    const std::string_view l = line_of(text, line);
    std::size_t at = l.rfind(": " + found);
    if (at == std::string_view::npos) at = l.rfind(":" + found);
    if (found.empty() || at == std::string_view::npos) return "";
    std::size_t name_end = at;
    while (name_end > 0 && l[name_end - 1] == ' ') --name_end;
    std::size_t name_begin = name_end;
    while (name_begin > 0 && (std::isalnum(static_cast<unsigned char>(l[name_begin - 1])) || l[name_begin - 1] == '_'))
        --name_begin;
    const std::string name(l.substr(name_begin, name_end - name_begin));
    std::size_t value_begin = l.find_first_not_of(' ', at + 1);
    const std::size_t value_end = l.find_first_of(" \t}],;#", value_begin);
    const std::string value(l.substr(value_begin, value_end == std::string_view::npos ? value_end
                                                                                      : value_end - value_begin));
    const std::vector<const pb::Descriptor*> types = message_types_of_field(name);
    if (name.empty() || types.empty()) return "";
    if (types.size() == 1 && types[0] == proto::Distribution::descriptor())
        return fmt::format("{} is a Distribution: write {} {{ constant: {} }} (or uniform {{ low: .. high: .. }}, "
                           "normal {{ mean: .. std: .. }})",
                           name, name, value);
    return fmt::format("{} is a message{}: write {} {{ ... }}", name,
                       types.size() == 1 ? " (" + types[0]->name() + ")" : std::string(), name);
}

// The values of the enum of field `name` (the first enum field of that name in the schema).
std::string enum_values_hint(const std::string& name) {
    const pb::FileDescriptor* file = proto::Spec::descriptor()->file();
    for (int m = 0; m < file->message_type_count(); ++m) {
        const pb::FieldDescriptor* f = file->message_type(m)->FindFieldByName(name);
        if (f == nullptr || f->enum_type() == nullptr) continue;
        std::vector<std::string> values;
        for (int k = 0; k < f->enum_type()->value_count(); ++k) values.push_back(f->enum_type()->value(k)->name());
        std::string list = quoted_alternatives(values);
        list.erase(std::remove(list.begin(), list.end(), '"'), list.end());
        return "expected " + list;
    }
    return "";
}

// The text between the first two double quotes at or after `from`, or "".
std::string quoted_after(const std::string& s, std::size_t from) {
    const std::size_t a = s.find('"', from);
    if (a == std::string::npos) return "";
    const std::size_t b = s.find('"', a + 1);
    return b == std::string::npos ? "" : s.substr(a + 1, b - a - 1);
}

}  // namespace

std::vector<std::string> near_field_names(const std::string& type_full_name, const std::string& name) {
    const pb::Descriptor* type = spec_pool().FindMessageTypeByName(type_full_name);
    if (type == nullptr) return {};
    struct Candidate {
        std::size_t rank;
        int index;
        std::string name;
    };
    // A missing unit suffix ranks first, then nearer names, then schema order.
    const std::size_t limit = std::max<std::size_t>(2, name.size() / 3);
    std::vector<Candidate> found;
    for (int k = 0; k < type->field_count(); ++k) {
        const std::string& f = type->field(k)->name();
        const std::size_t d = adds_unit(f, name) ? 0 : 1 + edit_distance(f, name);
        if (d <= limit + 1) found.push_back({d, k, f});
    }
    std::sort(found.begin(), found.end(),
              [](const Candidate& a, const Candidate& b) { return std::tie(a.rank, a.index) < std::tie(b.rank, b.index); });
    std::vector<std::string> out;
    for (std::size_t k = 0; k < found.size() && k < 3; ++k) out.push_back(found[k].name);
    return out;
}

std::string parse_hint(const std::string& message, std::string_view text, int line) {
    std::string hint;
    if (message.rfind("Message type \"", 0) == 0 && message.find("\" has no field named \"") != std::string::npos) {
        const std::string type = quoted_after(message, 0);
        const std::string field = quoted_after(message, message.find(" has no field named "));
        hint = unknown_field_hint(type, field);
    } else if (message.rfind("Unknown enumeration value of \"", 0) == 0) {
        hint = enum_values_hint(quoted_after(message, message.find(" for field ")));
    } else if (message.rfind("Expected \"{\", found \"", 0) == 0) {
        hint = scalar_for_message_hint(quoted_after(message, message.find("found")), text, line);
    }
    if (hint.empty()) return message;
    const std::string head = !message.empty() && message.back() == '.' ? message.substr(0, message.size() - 1) : message;
    return head + ": " + hint;
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
    return Node{&sub, t, p, where(name, index)};
}

Node Node::named(const char* name, const pb::Message& sub, int index, const std::string& label) const {
    Node n = child(name, sub, index);
    n.path = fmt::format("{} \"{}\"", name, label);
    return n;
}

std::string Node::where(const char* name, int index) const {
    if (name == nullptr) return this->loc;
    if (tree == nullptr) return "";
    pb::TextFormat::ParseLocation loc{-1, -1};
    const pb::FieldDescriptor* f = field(name);
    if (!f->is_repeated() && index >= 0) return "";
    // A repeated field has a location per element only: the list as a whole is where its first element is.
    if (f->is_repeated() && index < 0) index = 0;
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
    const std::string loc = n.where();
    errors_.push_back(fmt::format("{}:{} {}: {}", origin_, loc.empty() ? "" : loc, n.path, what));
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

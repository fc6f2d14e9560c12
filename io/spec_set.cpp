#include "io/spec_set.hpp"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

namespace spikeem::io {
namespace {

namespace pb = google::protobuf;

// One step of a path: a field name and, for a repeated message field, the
// element ("3", or the value of its `name` field).
struct Step {
    std::string field;
    std::optional<std::string> key;
};

// Keeps the parser's first complaint for our message instead of logging it.
struct Quiet : pb::io::ErrorCollector {
    std::string first;
    void AddError(int, pb::io::ColumnNumber, const std::string& message) override {
        if (first.empty()) first = message;
    }
};

[[noreturn]] void refuse(const std::string& assignment, const std::string& what) {
    throw SpecError(fmt::format("--set {}: {}", assignment, what));
}

// "population[E].lif_delta.tau_m_ms": brackets may hold any character but ']'
// (names may contain '.').
std::vector<Step> parse_path(const std::string& path, const std::string& assignment) {
    std::vector<Step> steps;
    std::size_t i = 0;
    while (i < path.size()) {
        Step s;
        while (i < path.size() && path[i] != '.' && path[i] != '[') s.field += path[i++];
        if (i < path.size() && path[i] == '[') {
            const std::size_t close = path.find(']', i);
            if (close == std::string::npos) refuse(assignment, "a '[' without its ']'");
            s.key = path.substr(i + 1, close - i - 1);
            i = close + 1;
        }
        if (s.field.empty()) refuse(assignment, "an empty field name in the path");
        steps.push_back(std::move(s));
        if (i < path.size()) {
            if (path[i] != '.') refuse(assignment, fmt::format("expected '.' after ']' at \"{}\"", path.substr(i)));
            if (++i == path.size()) refuse(assignment, "the path ends with '.'");
        }
    }
    if (steps.empty()) refuse(assignment, "expected FIELD.PATH=VALUE, e.g. population[E].lif_delta.tau_m_ms=10");
    return steps;
}

std::string field_names(const pb::Descriptor* d) {
    std::string out;
    for (int k = 0; k < d->field_count(); ++k) out += (k ? ", " : "") + d->field(k)->name();
    return out;
}

const pb::FieldDescriptor* find_field(const pb::Message& m, const Step& s, const std::string& assignment) {
    const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(s.field);
    if (f == nullptr)
        refuse(assignment, fmt::format("{} has no field \"{}\" (fields: {})", m.GetDescriptor()->name(), s.field,
                                       field_names(m.GetDescriptor())));
    return f;
}

// What an element is called: its name, or for a projection without one the
// loader's default "source->target"; "" for elements without names.
std::string label_of(const pb::Message& e) {
    const pb::Descriptor* d = e.GetDescriptor();
    const pb::Reflection* r = e.GetReflection();
    const pb::FieldDescriptor* name = d->FindFieldByName("name");
    if (name == nullptr || name->type() != pb::FieldDescriptor::TYPE_STRING) return "";
    std::string label = r->GetString(e, name);
    const pb::FieldDescriptor *source = d->FindFieldByName("source"), *target = d->FindFieldByName("target");
    if (label.empty() && source && target && d->name() == "Projection")
        label = r->GetString(e, source) + "->" + r->GetString(e, target);
    return label;
}

// The element of repeated message field f that `key` names: an index, or the
// element whose `name` is key.
pb::Message* element(pb::Message& m, const pb::FieldDescriptor* f, const std::string& key,
                     const std::string& assignment) {
    const pb::Reflection* r = m.GetReflection();
    const int n = r->FieldSize(m, f);
    std::string known;
    for (int k = 0; k < n; ++k) {
        pb::Message* e = r->MutableRepeatedMessage(&m, f, k);
        const std::string label = label_of(*e);
        if (label == key || (label.empty() && key == std::to_string(k))) return e;
        known += (k ? ", " : "") + (label.empty() ? std::to_string(k) : label);
    }
    if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos && std::stoul(key) < unsigned(n))
        return r->MutableRepeatedMessage(&m, f, static_cast<int>(std::stoul(key)));
    refuse(assignment, fmt::format("no {} \"{}\" (the spec has: {})", f->name(), key, known.empty() ? "none" : known));
}

// The message that holds the last step, following (and creating) the ones before it.
pb::Message* parent_of(pb::Message& root, const std::vector<Step>& steps, const std::string& assignment) {
    pb::Message* m = &root;
    for (std::size_t k = 0; k + 1 < steps.size(); ++k) {
        const pb::FieldDescriptor* f = find_field(*m, steps[k], assignment);
        if (f->type() != pb::FieldDescriptor::TYPE_MESSAGE)
            refuse(assignment, fmt::format("{} is a value, not a message: nothing below it", f->name()));
        if (f->is_repeated() != steps[k].key.has_value())
            refuse(assignment, f->is_repeated() ? fmt::format("{} is a list: name an element, {}[NAME] or {}[INDEX]",
                                                              f->name(), f->name(), f->name())
                                                : fmt::format("{} is not a list: no [ ] after it", f->name()));
        m = f->is_repeated() ? element(*m, f, *steps[k].key, assignment)
                             : m->GetReflection()->MutableMessage(m, f);
    }
    return m;
}

// A string value as text format wants it: quotes added where the user left
// them out, also on each item of a list [a, b].
std::string quoted(const std::string& v) {
    auto one = [](std::string x) {
        x.erase(0, x.find_first_not_of(' '));
        x.erase(x.find_last_not_of(' ') + 1);
        return !x.empty() && x.front() == '"' ? x : "\"" + x + "\"";
    };
    if (v.size() < 2 || v.front() != '[' || v.back() != ']') return one(v);
    std::string out = "[", item;
    for (char c : v.substr(1, v.size() - 2) + ",") {
        if (c != ',') {
            item += c;
            continue;
        }
        out += (out.size() > 1 ? ", " : "") + one(item);
        item.clear();
    }
    return out + "]";
}

}  // namespace

void apply_set(proto::Spec& spec, const std::string& assignment) {
    const std::size_t eq = assignment.find('=');
    if (eq == std::string::npos)
        refuse(assignment, "expected FIELD.PATH=VALUE, e.g. population[E].lif_delta.tau_m_ms=10");
    const std::vector<Step> steps = parse_path(assignment.substr(0, eq), assignment);
    std::string value = assignment.substr(eq + 1);
    pb::Message* parent = parent_of(spec, steps, assignment);
    const pb::FieldDescriptor* f = find_field(*parent, steps.back(), assignment);
    if (steps.back().key) refuse(assignment, fmt::format("set the whole list {}: {}=[...]", f->name(), f->name()));
    // The value in text format, as the field would be written in a .pbtxt file:
    // replaces what the spec had (a list or message as a whole).
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) value = quoted(value);
    parent->GetReflection()->ClearField(parent, f);
    pb::TextFormat::Parser parser;
    Quiet errors;
    parser.RecordErrorsTo(&errors);
    if (!parser.MergeFromString(f->name() + (f->type() == pb::FieldDescriptor::TYPE_MESSAGE ? " " : ": ") + value,
                                parent))
        refuse(assignment, fmt::format("\"{}\" is not a valid value for {} ({}; a message is written {{ ... }}, a list "
                                       "[a, b]): {}",
                                       assignment.substr(eq + 1), f->name(), f->type_name(), errors.first));
}

}  // namespace spikeem::io

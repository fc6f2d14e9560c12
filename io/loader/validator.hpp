#pragma once
// The shared machinery of the spec loader's sections: where a field sits in
// the spec (Node) and how problems with it are reported (Validator).  Every
// message has the form "file:line:col: field.path = value: rule (unit)", one
// line per problem, in the order the sections find them; tests compare many
// of them verbatim.
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/spikeem.pb.h"
#include "network/spec.hpp"

namespace spikeem::io::loader {

namespace pb = google::protobuf;
using ParseInfoTree = pb::TextFormat::ParseInfoTree;

// Collects the text-format parser's complaints as "file:line:col: message" lines.
// Where a fix is likely, a hint follows the parser's own message after ": "
// (parse_hint).  `text` is the parsed text, for hints that need the line; it
// must outlive the collector (empty: no such hints).
class ParseErrors : public pb::io::ErrorCollector {
public:
    explicit ParseErrors(std::string origin, std::string_view text = {})
        : origin_(std::move(origin)), text_(text) {}
    void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override;
    // e.g. deprecated syntax: treated as an error, nothing passes silently.
    void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override;
    std::vector<std::string> lines_;

private:
    std::string origin_;
    std::string_view text_;
};

// The text-format parser's `message` about line `line` (0-based) of `text`,
// with a hint appended when one applies, else unchanged:
//  - 'Message type "T" has no field named "x".': the fields of T nearest to x
//    (edit distance <= max(2, length / 3), or x plus a unit suffix such as
//    _ms), else the list of T's fields;
//  - 'Expected "{", found "v".' after `name: v` where name is a message field:
//    how to write it (a Distribution: `name { constant: v }`);
//  - 'Unknown enumeration value of "v" for field "f".': f's values.
std::string parse_hint(const std::string& message, std::string_view text, int line);

// The fields of spikeem message type `type_full_name` ("spikeem.proto.PairStdp")
// near `name`, best first (at most 3); empty if none, or the type is unknown.
std::vector<std::string> near_field_names(const std::string& type_full_name, const std::string& name);

// A message in the spec together with its place: the field path for messages,
// and the text-format parse tree (when parsed from text) for line and column.
// A Node from a binary spec, or for a value given on the command line, has no
// tree: its messages carry the origin and the path only.
struct Node {
    const pb::Message* msg;
    const ParseInfoTree* tree;
    std::string path;
    // "line:col:" of this message in its parent (where the parent's field names it), or ""
    // when unknown: what a problem with the message as a whole points at.
    std::string loc = "";

    // The descriptor of field `name` of msg; a misspelt name is a bug in the loader (std::logic_error).
    const pb::FieldDescriptor* field(const char* name) const;
    // The node of sub-message `sub`, held in field `name` (element `index` if repeated).
    Node child(const char* name, const pb::Message& sub, int index = -1) const;
    // A named child of a repeated field: `population "E"` reads better than population[3].
    Node named(const char* name, const pb::Message& sub, int index, const std::string& label) const;
    // "line:col:" of field `name` (element `index` if repeated; the first element when
    // no index is given), of this message itself when name is null, or "" when unknown.
    std::string where(const char* name = nullptr, int index = -1) const;
    // The path of field `name` (element `index` if repeated) below this node.
    std::string at(const char* name, int index = -1) const;
};

// A number as messages print it (shortest form that reads back exactly).
std::string num(double x);

// Collects the problems of one spec; the loader throws them together once
// every section has looked, so a user sees all of them at once.
class Validator {
public:
    explicit Validator(std::string origin) : origin_(std::move(origin)) {}

    // Report a problem with field `name` of `n`: "file:line:col: path = value: what".
    // An empty value leaves out " = value" (e.g. for a missing field).
    void fail(const Node& n, const char* name, const std::string& value, const std::string& what, int index = -1);
    // A problem with a message as a whole (e.g. a missing oneof), at the message's own line:col.
    void fail_node(const Node& n, const std::string& what);

    // Each reports field `name` = v unless it is finite (and > 0, >= 0); finite() says whether it is.
    bool finite(const Node& n, const char* name, double v, const char* unit);
    void positive(const Node& n, const char* name, double v, const char* unit);
    void non_negative(const Node& n, const char* name, double v, const char* unit);

    // Returns the distribution if valid.  min_value > 0: every draw must be >= min_value
    // (delays: at least one scheduler tick), named by min_label in messages.
    std::optional<Distribution> distribution(const Node& parent, const char* name, const proto::Distribution& d,
                                             const char* unit, bool required, double min_value = 0.0,
                                             const std::string& min_label = "");

    const std::vector<std::string>& errors() const { return errors_; }
    const std::string& origin() const { return origin_; }

private:
    std::string origin_;
    std::vector<std::string> errors_;
};

// Population and projection names: 1 to 200 of the characters kNameRule lists.
bool valid_name(const std::string& s);
inline constexpr const char* kNameRule = "must be 1 to 200 of the characters A-Z a-z 0-9 _ - . : > +";

// Bounds of a distribution's draws (a uniform's high is exclusive).
std::pair<double, double> support(const Distribution& d);

}  // namespace spikeem::io::loader

#pragma once
// Reading and validating network specs.  The only door from protobuf into the
// domain: callers get a NetworkSpec that Simulation can trust.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "network/spec.hpp"

namespace spikeem::io {

// A user error in a spec: the message names the file, line and column where
// known, the field path, the value and what is allowed (one line per problem).
class SpecError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Command-line settings that replace the spec's own before validation.
struct SpecOverrides {
    std::optional<std::uint64_t> seed;
    std::optional<double> duration_ms;
    // FIELD.PATH=VALUE assignments (io/spec_set.hpp), applied in order before seed and duration_ms.
    std::vector<std::string> set;
};

struct LoadedSpec {
    NetworkSpec spec;
    std::vector<std::string> set;  // the --set assignments applied, in order (run.json records them)
    std::string hash;    // "fnv1a64:<16 hex digits>" of the effective spec (overrides applied), binary-serialised deterministically
    std::string origin;  // file name, or a label for in-memory specs
};

// Text format unless the file name ends in .pb or .binpb (binary).
LoadedSpec load_spec_file(const std::string& path, const SpecOverrides& overrides = {});
LoadedSpec load_spec_text(const std::string& text, const std::string& origin = "<spec>",
                          const SpecOverrides& overrides = {});
// A binary-serialised spikeem.proto.Spec (what programs, e.g. the Python
// module, build); its messages carry the origin and field path, no line.
LoadedSpec load_spec_binary(const std::string& bytes, const std::string& origin = "<spec>",
                            const SpecOverrides& overrides = {});

}  // namespace spikeem::io

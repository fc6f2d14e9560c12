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
    // Recorded samples are written to files as the run goes (`spikeem run`),
    // not kept: the memory check counts a bounded buffer of them instead.
    bool streamed_recording = false;
};

// A file the spec names (spike_times.file, rate_table.file), as it was read.
struct InputFile {
    std::string field;  // its field path, e.g. population "S".spike_times.file
    std::string path;   // as the spec gives it
    std::string opened; // the path opened (relative ones joined to the base folder)
    std::uint64_t bytes = 0;
    std::string hash;   // "fnv1a64:<16 hex digits>" of its content
};

struct LoadedSpec {
    NetworkSpec spec;
    std::vector<std::string> set;  // the --set assignments applied, in order (run.json records them)
    // "fnv1a64:<16 hex digits>" of the effective spec (overrides applied), binary-serialised
    // deterministically; with input files, of those bytes followed by each file's hash, so that
    // the same spec reading other files has another hash.
    std::string hash;
    std::string origin;  // file name, or a label for in-memory specs
    std::vector<InputFile> input_files;  // in spec order; empty for most specs
};

// Text format unless the file name ends in .pb or .binpb (binary).  Files the
// spec names by a relative path are read from the spec file's folder.
LoadedSpec load_spec_file(const std::string& path, const SpecOverrides& overrides = {});
// base_dir: where relative input file paths start (empty: the working directory).
LoadedSpec load_spec_text(const std::string& text, const std::string& origin = "<spec>",
                          const SpecOverrides& overrides = {}, const std::string& base_dir = "");
// A binary-serialised spikeem.proto.Spec (what programs, e.g. the Python
// module, build); its messages carry the origin and field path, no line.
LoadedSpec load_spec_binary(const std::string& bytes, const std::string& origin = "<spec>",
                            const SpecOverrides& overrides = {}, const std::string& base_dir = "");

}  // namespace spikeem::io

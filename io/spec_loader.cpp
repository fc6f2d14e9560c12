#include "io/spec_loader.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "io/loader/resources.hpp"
#include "io/loader/sections.hpp"
#include "io/loader/validator.hpp"
#include "io/spec_set.hpp"
#include "io/spikeem.pb.h"
#include "sim/random.hpp"

namespace spikeem::io {
namespace {

using loader::Node;
using loader::ParseErrors;
using loader::ParseInfoTree;
using loader::Validator;
namespace pb = google::protobuf;

// The sections in spec order: each later one looks up what the earlier ones built.
NetworkSpec validate_and_convert(const proto::Spec& spec, const ParseInfoTree* tree, const SpecOverrides& o,
                                 Validator& v, loader::InputFiles& files) {
    NetworkSpec out;
    Node root{&spec, tree, ""};
    out.name = spec.name();
    const TimeBase time = loader::load_run(spec.run(), root.child("run", spec.run()), o, v, out.run);
    loader::check_limits(root, time, v);
    const loader::PopulationIndex pops = loader::load_populations(spec, root, v, out.populations, files);
    loader::check_file_limits(spec, root, time, out.run.duration_ms, out.populations, v);
    loader::load_projections(spec, root, pops, time, v, out);
    loader::load_poisson_inputs(spec, root, pops, time, v, out);
    loader::load_current_inputs(spec, root, pops, time, v, out);
    loader::load_record(spec.record(), root.child("record", spec.record()), pops, time, v, out);
    if (spec.has_objective())
        loader::load_objective(spec.objective(), root.child("objective", spec.objective()), pops, v, out);
    return out;
}

void apply(proto::Spec& spec, const SpecOverrides& o) {
    for (const std::string& a : o.set) apply_set(spec, a);
    if (o.seed) spec.mutable_run()->set_seed(*o.seed);
    if (o.duration_ms) spec.mutable_run()->set_duration_ms(*o.duration_ms);
}

std::string hash_of(const proto::Spec& spec, const std::vector<InputFile>& files) {
    std::string bytes;
    {
        pb::io::StringOutputStream sos(&bytes);
        pb::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        spec.SerializeToCodedStream(&cos);
    }
    for (const InputFile& f : files) bytes += "\n" + f.hash;  // none: the hash of the spec alone, as always
    return fmt::format("fnv1a64:{:016x}", stable_hash(bytes));
}

// At most this many problems are printed: a spec with thousands of dangling
// references would otherwise print megabytes, and the first ones show the pattern.
constexpr std::size_t kMaxMessages = 100;

// The problems one per line, the first kMaxMessages of them and how many more there are.
std::string joined(const std::vector<std::string>& problems) {
    std::string msg;
    for (std::size_t k = 0; k < problems.size() && k < kMaxMessages; ++k) msg += (msg.empty() ? "" : "\n") + problems[k];
    if (problems.size() > kMaxMessages) msg += fmt::format("\n... and {} more problems", problems.size() - kMaxMessages);
    return msg;
}

// A spec is read into memory whole: larger than this it is not a spec (1 GiB holds
// tens of millions of explicit pairs), and reading it could exhaust the memory.
constexpr std::uintmax_t kMaxSpecBytes = std::uintmax_t{1} << 30;
constexpr const char* kSpecSizeRule = "a spec must be a regular file of at most 1 GiB";

// Refuses spec bytes larger than kMaxSpecBytes.
void check_spec_bytes(std::size_t size, const std::string& origin) {
    if (size > kMaxSpecBytes) throw SpecError(fmt::format("{}: is {} bytes: {}", origin, size, kSpecSizeRule));
}

// Refuses, before anything is read, a spec file that is not a regular file
// (/dev/zero, a FIFO: reading it never ends) or is larger than kMaxSpecBytes.
// A path that cannot be examined is left to the opening to report.
void check_spec_size(const std::string& path) {
    std::error_code ec;
    const std::filesystem::file_status st = std::filesystem::status(path, ec);
    // Missing, unreadable or a directory: the reading says so, with the reason.
    if (ec || !std::filesystem::exists(st) || std::filesystem::is_directory(st)) return;
    if (!std::filesystem::is_regular_file(st))
        throw SpecError(fmt::format("{}: not a regular file: {}", path, kSpecSizeRule));
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxSpecBytes) throw SpecError(fmt::format("{}: is {} bytes: {}", path, size, kSpecSizeRule));
}

LoadedSpec finish(proto::Spec& spec, const ParseInfoTree* tree, const std::string& origin, const SpecOverrides& o,
                  const std::string& base_dir) {
    apply(spec, o);
    Validator v(origin);
    loader::InputFiles files{base_dir, {}};
    NetworkSpec ns = validate_and_convert(spec, tree, o, v, files);
    if (!v.errors().empty()) throw SpecError(joined(v.errors()));
    loader::check_memory(ns, origin, o.streamed_recording ? Recording::Streamed : Recording::InMemory);  // before anything is allocated for it
    std::string hash = hash_of(spec, files.read);
    return LoadedSpec{std::move(ns), o.set, std::move(hash), origin, std::move(files.read)};
}

// The folder of a spec file ("" for a bare file name: the working directory).
std::string folder_of(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

}  // namespace

LoadedSpec load_spec_text(const std::string& text, const std::string& origin, const SpecOverrides& overrides,
                          const std::string& base_dir) {
    check_spec_bytes(text.size(), origin);
    proto::Spec spec;
    ParseInfoTree tree;
    ParseErrors errors(origin, text);  // text outlives errors: hints read its lines
    pb::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    parser.WriteLocationsTo(&tree);
    // Warnings count as errors: nothing in a spec passes silently.
    if (!parser.ParseFromString(text, &spec) || !errors.lines_.empty()) {
        std::string msg = joined(errors.lines_);
        if (msg.empty()) msg = origin + ": not a valid spikeem spec in text format";
        throw SpecError(msg);
    }
    return finish(spec, &tree, origin, overrides, base_dir);
}

namespace {

// The whole file, read through a descriptor so that every failure has its
// reason: a folder given as SPEC, or a read error (EIO) midway, which a stream
// would take for the end of a shorter spec.
std::string read_spec_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw SpecError(fmt::format("{}: cannot open the spec file: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw SpecError(fmt::format("{}: is a directory, not a spec file", path));
    }
    std::string data;
    char block[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, block, sizeof block);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            throw SpecError(fmt::format("{}: cannot read the spec file: {}", path, std::strerror(err)));
        }
        data.append(block, static_cast<std::size_t>(n));
    }
    ::close(fd);  // read-only: nothing that close could still lose
    return data;
}

}  // namespace

LoadedSpec load_spec_file(const std::string& path, const SpecOverrides& overrides) {
    check_spec_size(path);
    const std::string data = read_spec_file(path);
    auto ends_with = [&](const std::string& suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".pb") || ends_with(".binpb")) {
        proto::Spec spec;
        if (!spec.ParseFromString(data))
            throw SpecError(fmt::format("{}: not a valid binary spikeem spec (files ending in .pb or .binpb are read "
                                        "as binary protobuf; use .pbtxt for text format)",
                                        path));
        return finish(spec, nullptr, path, overrides, folder_of(path));
    }
    return load_spec_text(data, path, overrides, folder_of(path));
}

LoadedSpec load_spec_binary(const std::string& bytes, const std::string& origin, const SpecOverrides& overrides,
                            const std::string& base_dir) {
    check_spec_bytes(bytes.size(), origin);
    proto::Spec spec;
    if (!spec.ParseFromString(bytes))
        throw SpecError(fmt::format("{}: not a valid binary spikeem spec", origin));
    return finish(spec, nullptr, origin, overrides, base_dir);
}

}  // namespace spikeem::io

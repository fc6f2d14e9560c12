#include "io/checkpoint.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "io/checkpoint.pb.h"
#include "sim/random.hpp"

namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

// Bumped whenever the message or the layout of the engine state changes in a
// way the version string would not show (it does on every release).
constexpr std::uint32_t kFormat = 1;
constexpr std::string_view kMagic = "spikeem checkpoint\n";

const char* byte_order() { return std::endian::native == std::endian::little ? "little" : "big"; }

std::string state_hash(std::string_view state) { return fmt::format("fnv1a64:{:016x}", stable_hash(state)); }

proto::Checkpoint header_of(const RunSettings& run, const LoadedSpec& spec, const Simulation& sim,
                            double wall_time_s, const std::string& state) {
    proto::Checkpoint h;
    h.set_format(kFormat);
    h.set_spikeem_version(version());
    h.set_byte_order(byte_order());
    h.set_spec_path(run.spec_path);
    h.set_spec_file(run.spec_file);
    h.set_spec_hash(spec.hash);
    if (run.overrides.seed) h.set_seed(*run.overrides.seed);
    if (run.overrides.duration_ms) h.set_duration_ms(*run.overrides.duration_ms);
    for (const std::string& s : run.overrides.set) h.add_set(s);
    h.set_end_ms(spec.spec.run.duration_ms);
    h.set_checkpoint_every_ms(run.checkpoint_every_ms);
    h.set_output_format(format_name(run.format));
    h.set_partitions(static_cast<std::uint32_t>(sim.partitions()));
    h.set_wall_time_s(wall_time_s);
    h.set_tick(sim.now());
    h.set_state_bytes(state.size());
    h.set_state_hash(state_hash(state));
    return h;
}

std::string length_bytes(std::uint64_t n) {
    std::string b(8, '\0');
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return b;
}

std::uint64_t length_of(std::string_view b) {
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
    return n;
}

[[noreturn]] void refuse(const fs::path& file, const std::string& why) {
    throw CheckpointRefused(fmt::format("{}: {}", file.string(), why));
}

Checkpoint from_header(const proto::Checkpoint& h, std::string state) {
    Checkpoint c;
    c.run.spec_path = h.spec_path();
    c.run.spec_file = h.spec_file();
    if (h.has_seed()) c.run.overrides.seed = h.seed();
    if (h.has_duration_ms()) c.run.overrides.duration_ms = h.duration_ms();
    c.run.overrides.set.assign(h.set().begin(), h.set().end());
    c.run.checkpoint_every_ms = h.checkpoint_every_ms();
    c.run.format = *parse_output_format(h.output_format());
    c.spec_hash = h.spec_hash();
    c.end_ms = h.end_ms();
    c.partitions = h.partitions();
    c.wall_time_s = h.wall_time_s();
    c.tick = h.tick();
    c.state = std::move(state);
    return c;
}

}  // namespace

fs::path checkpoint_path(const fs::path& out) {
    fs::path p = out;
    if (!p.has_filename()) p = p.parent_path();  // "DIR/"
    return p.parent_path() / (p.filename().string() + ".checkpoint");
}

void write_checkpoint(const fs::path& file, const RunSettings& run, const LoadedSpec& spec, const Simulation& sim,
                      double wall_time_s) {
    const std::string state = sim.save_state();
    const std::string header = header_of(run, spec, sim, wall_time_s, state).SerializeAsString();
    // One writer per output folder (the run holds DIR's lock), so the
    // temporary's name needs no pid; one a killed run left is overwritten.
    const fs::path tmp = file.parent_path() / ("." + file.filename().string() + ".tmp");
    {
        OutputFile out(tmp);
        out << kMagic << length_bytes(header.size()) << header;
        out.write(state.data(), static_cast<std::streamsize>(state.size()));
        out.finish();
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp.string(), file.string(), ec.message()));
    }
    sync_folder(file.parent_path().empty() ? fs::path(".") : file.parent_path());
}

Checkpoint read_checkpoint(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        refuse(file, fmt::format("cannot be read ({}); spikeem run writes it when a run with --out {} is "
                                 "interrupted, or with --checkpoint-every-ms",
                                 std::strerror(errno), (file.parent_path() / file.stem()).string()));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) refuse(file, "read error");
    const std::string_view all(bytes);
    if (all.substr(0, kMagic.size()) != kMagic || all.size() < kMagic.size() + 8)
        refuse(file, "is not a spikeem checkpoint");
    const std::uint64_t n = length_of(all.substr(kMagic.size(), 8));
    const std::string_view rest = all.substr(kMagic.size() + 8);
    proto::Checkpoint h;
    if (n > rest.size() || !h.ParseFromArray(rest.data(), static_cast<int>(n)))
        refuse(file, "is damaged (its header cannot be read)");
    if (h.format() != kFormat)
        refuse(file, fmt::format("has checkpoint format {}; this spikeem reads format {}", h.format(), kFormat));
    if (h.spikeem_version() != version())
        refuse(file, fmt::format("was written by spikeem {}; this is spikeem {}: resume it with spikeem {}",
                                 h.spikeem_version(), version(), h.spikeem_version()));
    if (h.byte_order() != byte_order())
        refuse(file, fmt::format("was written on a {}-endian machine; this one is {}-endian", h.byte_order(),
                                 byte_order()));
    if (!parse_output_format(h.output_format()))
        refuse(file, fmt::format("names the output format \"{}\"", h.output_format()));
    const std::string_view state = rest.substr(n);
    if (state.size() != h.state_bytes())
        refuse(file, fmt::format("is truncated or damaged: its state has {} bytes, {} expected", state.size(),
                                 h.state_bytes()));
    if (state_hash(state) != h.state_hash()) refuse(file, "is damaged: its state does not match its hash");
    return from_header(h, std::string(state));
}

}  // namespace spikeem::io

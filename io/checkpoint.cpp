#include "io/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
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
// way the version string would not show (it does on every release).  3:
// spike-pair traces stored scaled to their era, not as (value, time).  4:
// voltage samples held as values per probe, not as rows.  5: lif_exp's window
// sweeps at 0.6 of the shortest time constant (a margin held until the next
// window's start), not at 1 ms.  6: lif_delta's own event times stored apart
// from its neuron states; one queued delivery per spike for a population whose
// projections are static and share a delay (Partition::deliver_merged).
constexpr std::uint32_t kFormat = 6;
constexpr std::string_view kMagic = "spikeem checkpoint\n";
constexpr const char* kStateFile = "checkpoint";

const char* byte_order() { return std::endian::native == std::endian::little ? "little" : "big"; }

std::string state_hash(std::string_view state) { return fmt::format("fnv1a64:{:016x}", stable_hash(state)); }

proto::Checkpoint header_of(const RunSettings& run, const LoadedSpec& spec, const Simulation& sim,
                            double wall_time_s, const std::string& state, const std::vector<SavedTable>& tables) {
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
    for (const SavedTable& t : tables) {
        proto::Table* p = h.add_tables();
        p->set_file(t.state.file);
        p->set_copy(t.copy);
        p->set_bytes(t.state.bytes);
        p->set_rows(t.state.rows);
        p->set_header_bytes(t.state.header_bytes);
    }
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

[[noreturn]] void os_error(const std::string& what, const fs::path& path, int err = errno) {
    throw std::runtime_error(fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

// A descriptor closed on every path out.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// Bytes [from, to) of `src` into `dst` at offset `from`, `dst` cut to `from`
// first (bytes a killed write left beyond it go), then synced.  In the
// kernel (copy_file_range) where the file system allows, else read and write.
void copy_range(const fs::path& src, const fs::path& dst, std::uint64_t from, std::uint64_t to) {
    const Fd in{::open(src.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0) os_error("cannot open", src);
    const Fd out{::open(dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
    if (out.fd < 0) os_error("cannot create", dst);
    if (::ftruncate(out.fd, static_cast<off_t>(from)) != 0) os_error("cannot truncate", dst);
    auto off_in = static_cast<off_t>(from), off_out = static_cast<off_t>(from);
    bool kernel = true;
    std::vector<char> buf;
    while (static_cast<std::uint64_t>(off_in) < to) {
        const auto left = static_cast<std::size_t>(to - static_cast<std::uint64_t>(off_in));
        ssize_t n;
        if (kernel) {
            n = ::copy_file_range(in.fd, &off_in, out.fd, &off_out, left, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
                kernel = false;
                continue;
            }
        } else {
            buf.resize(std::min<std::size_t>(left, std::size_t{1} << 20));
            n = ::pread(in.fd, buf.data(), buf.size(), off_in);
            if (n > 0 && ::pwrite(out.fd, buf.data(), static_cast<std::size_t>(n), off_out) != n) os_error("cannot write", dst);
            if (n > 0) off_in += n, off_out += n;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) os_error("cannot copy into", dst);
        if (n == 0) throw std::runtime_error(fmt::format("{} ends before byte {}", src.string(), to));
    }
    if (::fsync(out.fd) != 0 && errno != EINVAL && errno != EROFS) os_error("cannot sync", dst);
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
    for (const proto::Table& t : h.tables())
        c.tables.push_back(SavedTable{TableState{t.file(), {}, t.bytes(), t.rows(), t.header_bytes()}, t.copy()});
    return c;
}

}  // namespace

fs::path checkpoint_path(const fs::path& out) {
    fs::path p = out;
    if (!p.has_filename()) p = p.parent_path();  // "DIR/"
    return p.parent_path() / (p.filename().string() + ".checkpoint");
}

std::vector<TableSource> Checkpoint::sources(const fs::path& folder) const {
    std::vector<TableSource> out;
    for (const SavedTable& t : tables) out.push_back(TableSource{t.state, folder / t.copy});
    return out;
}

Checkpointer::Checkpointer(fs::path folder, const RunSettings& run, const LoadedSpec& spec,
                           std::vector<SavedTable> known)
    : folder_(std::move(folder)), run_(run), spec_(spec), copies_(std::move(known)) {}

void Checkpointer::write(const Simulation& sim, RecordingWriter& tables, double wall_time_s) {
    std::error_code ec;
    fs::create_directories(folder_, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", folder_.string(), ec.message()));
    // The copies first: the file `checkpoint` names them only once they hold their bytes.
    std::vector<SavedTable> now;
    for (const TableState& s : tables.flush()) {
        const std::string copy = fmt::format("{}.{}", s.file, s.header_bytes);  // a moved header: a new name
        const auto old = std::find_if(copies_.begin(), copies_.end(),
                                      [&](const SavedTable& t) { return t.copy == copy && t.state.bytes <= s.bytes; });
        copy_range(s.path, folder_ / copy, old == copies_.end() ? 0 : old->state.bytes, s.bytes);
        now.push_back(SavedTable{s, copy});
    }
    const std::string state = sim.save_state();
    const std::string header = header_of(run_, spec_, sim, wall_time_s, state, now).SerializeAsString();
    const fs::path tmp = folder_ / (std::string(kStateFile) + ".tmp"), file = folder_ / kStateFile;
    {
        OutputFile out(tmp);
        out << kMagic << length_bytes(header.size()) << header;
        out.write(state.data(), static_cast<std::streamsize>(state.size()));
        out.finish();
    }
    fs::rename(tmp, file, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp.string(), file.string(), ec.message()));
    sync_folder(folder_);
    // Copies of an earlier header size are named by no checkpoint any more.
    for (const auto& e : fs::directory_iterator(folder_, ec)) {
        const std::string name = e.path().filename().string();
        if (name != kStateFile && std::none_of(now.begin(), now.end(), [&](const SavedTable& t) { return t.copy == name; }))
            fs::remove(e.path(), ec);
    }
    copies_ = std::move(now);
}

Checkpoint read_checkpoint(const fs::path& folder) {
    const fs::path file = folder / kStateFile;
    std::ifstream in(file, std::ios::binary);
    if (!in)
        refuse(folder, fmt::format("cannot be read ({}); spikeem run writes it when a run with --out {} is "
                                   "interrupted, or with --checkpoint-every-ms",
                                   std::strerror(errno), (folder.parent_path() / folder.stem()).string()));
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
    for (const proto::Table& t : h.tables()) {
        std::error_code ec;
        const std::uintmax_t size = fs::file_size(folder / t.copy(), ec);
        if (ec || size < t.bytes())
            refuse(folder / t.copy(), fmt::format("holds {} bytes of the {} the checkpoint needs", ec ? 0 : size, t.bytes()));
    }
    return from_header(h, std::string(state));
}

}  // namespace spikeem::io

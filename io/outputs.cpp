#include "io/outputs.hpp"

#include "io/recording.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <tbb/global_control.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string_view>
#include <system_error>

#ifndef SPIKEEM_VERSION
#define SPIKEEM_VERSION "unknown"
#endif

namespace spikeem::io {

namespace fs = std::filesystem;

std::string version() { return SPIKEEM_VERSION; }

namespace {

// "what PATH: reason" for the errno `err`.
std::string os_error(std::string_view what, const fs::path& path, int err) {
    return fmt::format("{} {}: {}", what, path.string(), std::strerror(err));
}

// The default `err` is read with the other arguments: pass errno saved
// beforehand when an argument is built by a call (fmt::format allocates).
[[noreturn]] void throw_os_error(std::string_view what, const fs::path& path, int err = errno) {
    throw std::runtime_error(os_error(what, path, err));
}

[[noreturn]] void refuse(std::string_view what, const fs::path& path, int err = errno) {
    throw OutputRefused(os_error(what, path, err));
}

// Whether a process `pid` exists (EPERM: it does, owned by someone else).
bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// 8 random hex digits: two runs of one pid (a container's pid 1) get different folders.
std::string random_suffix() {
    std::random_device rd;
    return fmt::format("{:08x}", static_cast<std::uint32_t>(rd()));
}

}  // namespace

// Filesystems that cannot sync a folder (EINVAL) have nothing to make durable.
void sync_folder(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_os_error("cannot open the folder", dir);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL && err != EROFS) throw_os_error("cannot sync the folder", dir, err);
}

OutputFile::Buffer::Buffer(int fd) : fd_(fd), space_(std::size_t{1} << 16) {
    setp(space_.data(), space_.data() + space_.size());
}

bool OutputFile::Buffer::write_all(const char* p, std::size_t n) {
    if (error_ != 0) return false;
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            error_ = errno;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool OutputFile::Buffer::drain() {
    const bool ok = write_all(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(space_.data(), space_.data() + space_.size());
    return ok;
}

OutputFile::Buffer::int_type OutputFile::Buffer::overflow(int_type c) {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
    }
    return traits_type::not_eof(c);
}

int OutputFile::Buffer::sync() { return drain() ? 0 : -1; }

std::streamsize OutputFile::Buffer::xsputn(const char* s, std::streamsize n) {
    // Large blocks (the sinks' megabyte buffers) go straight to the file.
    if (n < static_cast<std::streamsize>(space_.size())) return std::streambuf::xsputn(s, n);
    if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;
    return n;
}

OutputFile::OutputFile(fs::path path)
    : path_(std::move(path)), buf_(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) {
    if (buf_.fd() < 0) throw_os_error("cannot create", path_);
    std::basic_ios<char>::rdbuf(&buf_);  // also clears the state the closed filebuf left
}

OutputFile::~OutputFile() {
    if (buf_.fd() >= 0) ::close(buf_.fd());
}

void OutputFile::finish() {
    flush();
    if (buf_.error() != 0) throw_os_error("error writing", path_, buf_.error());
    if (!*this) throw std::runtime_error(fmt::format("error writing {}", path_.string()));
    // EINVAL, EROFS: a device or pipe without anything to sync (/dev/null).
    if (::fsync(buf_.fd()) != 0 && errno != EINVAL && errno != EROFS) throw_os_error("cannot sync", path_);
    const int fd = buf_.fd();
    buf_.forget_fd();  // closed once, whatever close() says (Linux frees the descriptor even on error)
    if (::close(fd) != 0) throw_os_error("error closing", path_);
}

namespace {
// pread/pwrite of exactly n bytes; the errno of a failure (0: done).
int pread_all(int fd, char* p, std::size_t n, std::uint64_t at) {
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(at));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? EIO : errno;  // the file ended early: not ours to read
        p += r, at += static_cast<std::uint64_t>(r), n -= static_cast<std::size_t>(r);
    }
    return 0;
}
int pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t at) {
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        p += w, at += static_cast<std::uint64_t>(w), n -= static_cast<std::size_t>(w);
    }
    return 0;
}
}  // namespace

void OutputFile::check() const {
    if (buf_.error() != 0) throw_os_error("error writing", path_, buf_.error());
}

void OutputFile::write_at(std::uint64_t offset, std::string_view bytes) {
    flush();
    if (buf_.error() != 0) throw_os_error("error writing", path_, buf_.error());
    if (const int err = pwrite_all(buf_.fd(), bytes.data(), bytes.size(), offset)) throw_os_error("error writing", path_, err);
}

void OutputFile::move_tail(std::uint64_t from, std::uint64_t to) {
    flush();
    if (buf_.error() != 0) throw_os_error("error writing", path_, buf_.error());
    const int fd = buf_.fd();
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) throw_os_error("cannot seek in", path_);
    const auto size = static_cast<std::uint64_t>(end);
    std::vector<char> chunk(std::size_t{1} << 20);
    int err = 0;
    if (to > from) {  // from the end backwards: no byte is overwritten before it is read
        for (std::uint64_t pos = size; pos > from && err == 0;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), pos - from));
            pos -= n;
            err = pread_all(fd, chunk.data(), n, pos);
            if (err == 0) err = pwrite_all(fd, chunk.data(), n, pos + (to - from));
        }
    } else if (to < from) {
        for (std::uint64_t pos = from; pos < size && err == 0;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - pos));
            err = pread_all(fd, chunk.data(), n, pos);
            if (err == 0) err = pwrite_all(fd, chunk.data(), n, pos - (from - to));
            pos += n;
        }
        if (err == 0 && ::ftruncate(fd, static_cast<off_t>(size - (from - to))) != 0) err = errno;
    }
    if (err != 0) throw_os_error("error moving the rows of", path_, err);
    if (::lseek(fd, 0, SEEK_END) < 0) throw_os_error("cannot seek in", path_);
}

// The new folder and the lock while a replacing() set is open.
struct OutputSet::Replacement {
    fs::path lock_path;  // PARENT/.NAME.lock
    int lock_fd = -1;
    fs::path staging;  // PARENT/NAME.tmp-PID-RANDOM: the new folder, after an exchange the old one
    bool staging_made = false;

    ~Replacement() {
        std::error_code ec;
        if (staging_made) fs::remove_all(staging, ec);
        release();
    }
    // Removes the lock file while holding the lock (see take_lock), then lets go.
    void release() {
        if (lock_fd < 0) return;
        ::unlink(lock_path.c_str());
        ::close(lock_fd);
        lock_fd = -1;
    }
};

namespace {

// The pid a lock file's holder wrote into it, "" if none could be read.
std::string lock_holder(int fd) {
    char text[32] = {};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    std::string s(text, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.find_first_not_of("0123456789") == std::string::npos ? s : "";
}

// flock(LOCK_EX | LOCK_NB) on `path`, created if missing, with our pid written
// into it.  A holder removes the file before letting go; a process that locked
// the removed file finds the path gone or another file there and tries again,
// so two processes never both hold a lock on the file at `path`.
int take_lock(const fs::path& path, const fs::path& dir) {
    for (;;) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            const int err = errno;  // before fmt::format, which may change it
            refuse(fmt::format("cannot write into {}: cannot create the lock file", dir.string()), path, err);
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            const std::string pid = lock_holder(fd);
            ::close(fd);
            if (err == EWOULDBLOCK)
                throw OutputRefused(fmt::format(
                    "{} is being written by another process ({}; lock {}): wait for it to finish or choose another "
                    "--out folder",
                    dir.string(), pid.empty() ? "pid unknown" : "pid " + pid, path.string()));
            refuse("cannot lock", path, err);
        }
        struct stat held {}, now {};
        if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino) {
            const std::string pid = fmt::format("{}\n", ::getpid());
            if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
                const int err = errno;
                ::unlink(path.c_str());
                ::close(fd);
                refuse("cannot write the lock file", path, err);
            }
            return fd;
        }
        ::close(fd);  // its holder removed it meanwhile: lock the new one
    }
}

// Folders NAME.tmp-PID-X and NAME.old-PID-X next to `dir` that runs killed
// before their end left.  Called with the lock held, so no other run into
// `dir` is under way; a folder whose pid is alive and not ours is kept all
// the same (a filesystem whose locks do not work must not cost a live run).
void remove_leftovers(const fs::path& dir, const fs::path& keep) {
    const std::string name = dir.filename().string();
    std::error_code ec;
    for (fs::directory_iterator it(dir.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string f = it->path().filename().string();
        std::string_view rest;
        if (f.rfind(name + ".tmp-", 0) == 0 || f.rfind(name + ".old-", 0) == 0)
            rest = std::string_view(f).substr(name.size() + 5);
        else
            continue;
        const std::size_t dash = rest.find('-');
        if (dash == 0 || dash > 9 || dash == std::string_view::npos ||
            rest.substr(0, dash).find_first_not_of("0123456789") != std::string_view::npos || it->path() == keep)
            continue;
        const long pid = std::stol(std::string(rest.substr(0, dash)));
        if (pid != ::getpid() && process_alive(pid)) continue;
        std::error_code rm;
        fs::remove_all(it->path(), rm);  // best effort: the next run tries again
    }
}

// `dir` absolute, without a trailing separator, its symbolic links resolved
// when it exists (the new folder goes next to the real one, on its filesystem).
fs::path target_folder(const fs::path& dir) {
    fs::path p = fs::absolute(dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    std::error_code ignored, ec;  // a path that is missing is no symbolic link
    if (fs::is_symlink(fs::symlink_status(p, ignored)) && fs::exists(p, ignored)) p = fs::canonical(p, ec);
    if (ec || p.filename().empty() || p == p.root_path())
        throw OutputRefused(
            fmt::format("{}: not usable as an output folder (it is replaced as a whole)", dir.string()));
    return p;
}

// What replacing() checks before anything is written (see outputs.hpp).
void check_target(const fs::path& dir) {
    struct stat st {};
    const fs::path parent = dir.parent_path();
    if (::stat(parent.c_str(), &st) != 0) {
        const int err = errno;
        refuse(fmt::format("cannot write into {}: its parent folder", dir.string()), parent, err);
    }
    if (!S_ISDIR(st.st_mode))
        throw OutputRefused(
            fmt::format("cannot write into {}: its parent {} is not a folder", dir.string(), parent.string()));
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT) refuse("cannot use the output folder", dir);
        return;
    }
    if (!S_ISDIR(st.st_mode))
        throw OutputRefused(fmt::format("{} exists and is not a folder: --out needs a folder", dir.string()));
}

// After the lock: a folder that holds files but no run.json is someone's own
// folder, not a run's outputs, and is not replaced (its files would be lost).
void check_replaceable(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return;
    if (fs::exists(dir / "run.json", ec)) return;
    fs::directory_iterator it(dir, ec);
    if (ec) refuse("cannot list the output folder", dir, ec.value());
    if (it != fs::directory_iterator())
        throw OutputRefused(fmt::format(
            "{} holds files but no run.json: spikeem replaces its output folder as a whole and does not delete "
            "files that are not a run's outputs; empty it or choose another --out folder",
            dir.string()));
}

}  // namespace

OutputSet::OutputSet(fs::path dir) : dir_(std::move(dir)) {}

OutputSet::OutputSet(fs::path dir, std::unique_ptr<Replacement> r) : dir_(std::move(dir)), replacement_(std::move(r)) {}

OutputSet OutputSet::replacing(const fs::path& requested) {
    const fs::path dir = target_folder(requested);
    // Missing parents are created, as `--out out/first` in the README expects;
    // a path through a file, or where nothing may be created, is refused here.
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (ec)
        refuse(fmt::format("cannot write into {}: cannot create its parent folder", dir.string()), dir.parent_path(),
               ec.value());
    check_target(dir);
    auto r = std::make_unique<Replacement>();
    r->lock_path = dir.parent_path() / fmt::format(".{}.lock", dir.filename().string());
    r->lock_fd = take_lock(r->lock_path, dir);
    check_target(dir);  // again, under the lock
    check_replaceable(dir);
    struct stat old {};
    const bool had_dir = ::stat(dir.c_str(), &old) == 0;
    for (int attempt = 0;; ++attempt) {
        r->staging =
            dir.parent_path() / fmt::format("{}.tmp-{}-{}", dir.filename().string(), ::getpid(), random_suffix());
        if (::mkdir(r->staging.c_str(), 0777) == 0) break;
        if (errno != EEXIST || attempt == 100) refuse("cannot create the output folder", r->staging);
    }
    r->staging_made = true;
    // The new folder keeps the permissions the old one was given.
    if (had_dir && ::chmod(r->staging.c_str(), old.st_mode & 07777) != 0)
        throw_os_error("cannot set the permissions of", r->staging);
    remove_leftovers(dir, r->staging);
    return OutputSet(dir, std::move(r));
}

OutputSet::~OutputSet() {
    for (Pending& f : files_) f.out.reset();  // closes the descriptors: uncommitted, errors do not matter
    if (committed_ || replacement_) return;    // a Replacement removes its own folder
    for (const Pending& f : files_) {
        std::error_code ec;
        fs::remove(f.tmp, ec);
    }
}

OutputFile& OutputSet::add(const std::string& name) {
    Pending p;
    if (replacement_) {
        p.tmp = p.final = replacement_->staging / name;
    } else {
        p.final = dir_ / name;
        p.tmp = dir_ / fmt::format(".{}.tmp-{}", name, ::getpid());
    }
    p.out = std::make_unique<OutputFile>(p.tmp);
    files_.push_back(std::move(p));
    return *files_.back().out;
}

void OutputSet::obsolete(const std::string& name) {
    if (!replacement_) obsolete_.push_back(dir_ / name);
}

void OutputSet::commit() {
    step("finish");
    for (Pending& f : files_) f.out->finish();
    if (replacement_) commit_folder();
    else commit_files();
    committed_ = true;
}

void OutputSet::commit_files() {
    // The last file marks a complete set: take the old one away first so that
    // no moment shows an old marker beside new files.
    auto remove = [](const fs::path& p) {
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_os_error("cannot remove", p);
    };
    if (!files_.empty()) remove(files_.back().final);
    for (const auto& f : obsolete_) remove(f);
    step("replace");
    for (const Pending& f : files_)
        if (::rename(f.tmp.c_str(), f.final.c_str()) != 0) {
            const int err = errno;
            throw_os_error(fmt::format("cannot rename {} to", f.tmp.string()), f.final, err);
        }
    sync_folder(dir_);
}

void OutputSet::commit_folder() {
    Replacement& r = *replacement_;
    sync_folder(r.staging);
    step("replace");
    const fs::path parent = dir_.parent_path();
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0) {
        // No earlier run: a plain rename.
        if (::rename(r.staging.c_str(), dir_.c_str()) != 0) {
            const int err = errno;
            throw_os_error(fmt::format("cannot rename {} to", r.staging.string()), dir_, err);
        }
        r.staging_made = false;
    } else if (::renameat2(AT_FDCWD, r.staging.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
        const int err = errno;
        if (err != EINVAL && err != ENOSYS && err != ENOTSUP)
            throw_os_error(fmt::format("cannot exchange {} with", r.staging.string()), dir_, err);
        // A filesystem without exchange (NFS): the old folder steps aside, then
        // the new one moves in; DIR is missing in between, never mixed.
        const fs::path aside =
            parent / fmt::format("{}.old-{}-{}", dir_.filename().string(), ::getpid(), random_suffix());
        if (::rename(dir_.c_str(), aside.c_str()) != 0) {
            const int aside_err = errno;
            throw_os_error(fmt::format("cannot rename {} to", dir_.string()), aside, aside_err);
        }
        if (::rename(r.staging.c_str(), dir_.c_str()) != 0) {
            const int move_err = errno;
            ::rename(aside.c_str(), dir_.c_str());  // the earlier run back in place
            throw_os_error(fmt::format("cannot rename {} to", r.staging.string()), dir_, move_err);
        }
        r.staging = aside;  // now the old folder, removed below
    }
    // Else exchanged: r.staging names the earlier run's folder.
    sync_folder(parent);
    step("remove-old");
    if (r.staging_made) {
        std::error_code ec;
        fs::remove_all(r.staging, ec);
        if (ec)
            throw_os_error(
                fmt::format("the outputs are complete in {}, but the earlier run's folder could not be removed:",
                            dir_.string()),
                r.staging, ec.value());
        r.staging_made = false;
    }
    r.release();
}

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string json_number(double x) { return std::isfinite(x) ? fmt::format("{}", x) : "null"; }

// The rule and its variant, e.g. "pair_stdp/nearest_symmetric" or "voltage_slope/forward".
std::string plasticity_name(const std::optional<PlasticitySpec>& p) {
    if (!p) return "none";
    struct Name {
        std::string operator()(const PairStdpParams& r) const {
            static constexpr const char* pairing[] = {"all_to_all", "nearest_symmetric", "nearest_presynaptic_centred"};
            return std::string("pair_stdp/") + pairing[static_cast<int>(r.pairing)];
        }
        std::string operator()(const TripletStdpParams& r) const {
            return r.nearest_spike ? "triplet_stdp/nearest_spike" : "triplet_stdp/all_to_all";
        }
        std::string operator()(const VoltageSlopeParams& r) const {
            static constexpr const char* estimate[] = {"forward", "central", "analytic"};
            return std::string("voltage_slope/") + estimate[static_cast<int>(r.estimate)];
        }
        std::string operator()(const RateSlopeParams&) const { return "rate_slope"; }
        std::string operator()(const InhibitoryStdpParams&) const { return "inhibitory_stdp"; }
    };
    return std::visit(Name{}, p->rule);
}

}  // namespace

std::size_t threads_running(const Simulation& sim) {
    const std::size_t workers = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
    return std::min<std::size_t>(sim.partitions(), std::max<std::size_t>(workers, 1));
}

std::string run_json(const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    const TimeBase& tb = sim.time();
    std::string j = "{\n";
    j += fmt::format("  \"spikeem_version\": {},\n", json_string(version()));
    j += fmt::format("  \"spec\": {},\n", json_string(info.spec_path));
    j += fmt::format("  \"spec_name\": {},\n", json_string(spec.spec.name));
    j += fmt::format("  \"spec_hash\": {},\n", json_string(spec.hash));
    if (!spec.input_files.empty()) {  // only for specs that read files: other runs' run.json stay as they were
        j += "  \"input_files\": [\n";
        for (std::size_t k = 0; k < spec.input_files.size(); ++k) {
            const InputFile& f = spec.input_files[k];
            j += fmt::format("    {{\"field\": {}, \"path\": {}, \"opened\": {}, \"bytes\": {}, \"hash\": {}}}{}\n",
                             json_string(f.field), json_string(f.path), json_string(f.opened), f.bytes,
                             json_string(f.hash), k + 1 < spec.input_files.size() ? "," : "");
        }
        j += "  ],\n";
    }
    if (!spec.set.empty()) {  // only when --set was given: other runs' run.json stay as they were
        std::string list;
        for (const std::string& a : spec.set) list += (list.empty() ? "" : ", ") + json_string(a);
        j += fmt::format("  \"set\": [{}],\n", list);
    }
    j += fmt::format("  \"seed\": {},\n", spec.spec.run.seed);
    j += fmt::format("  \"resolution_ns\": {},\n", json_number(tb.resolution_ns()));
    j += fmt::format("  \"duration_ms\": {},\n", tb.format_ms(sim.now()));
    j += fmt::format("  \"output_format\": {},\n", json_string(format_name(info.format)));
    j += "  \"populations\": [\n";
    for (std::size_t p = 0; p < sim.num_populations(); ++p) {
        PopulationSummary s = sim.summary(p);
        j += fmt::format(
            "    {{\"name\": {}, \"model\": {}, \"neurons\": {}, \"spikes\": {}, \"mean_rate_hz\": {}, "
            "\"mean_cv_isi\": {}, \"neurons_with_cv\": {}}}{}\n",
            json_string(s.name), json_string(s.model), s.neurons, s.spikes, json_number(s.mean_rate_hz),
            s.has_cv ? json_number(s.mean_cv_isi) : "null", s.neurons_with_cv,
            p + 1 < sim.num_populations() ? "," : "");
    }
    j += "  ],\n  \"projections\": [\n";
    std::size_t total_syn = 0;
    for (std::size_t k = 0; k < sim.num_projections(); ++k) {
        const Projection& pj = sim.projection(k);
        total_syn += pj.num_synapses();
        j += fmt::format("    {{\"name\": {}, \"source\": {}, \"target\": {}, \"synapses\": {}, \"plasticity\": {}}}{}\n",
                         json_string(pj.name()), json_string(sim.population(pj.source_population()).name()),
                         json_string(sim.population(pj.target_population()).name()), pj.num_synapses(),
                         json_string(plasticity_name(spec.spec.projections.at(k).plasticity)),
                         k + 1 < sim.num_projections() ? "," : "");
    }
    j += "  ],\n";
    j += fmt::format("  \"synapses\": {},\n", total_syn);
    j += fmt::format("  \"events_processed\": {},\n", sim.events_processed());
    j += fmt::format("  \"synaptic_events\": {},\n", sim.synaptic_events());
    // How it ran: the threads that ran its partitions (at most TBB's limit),
    // the partitions, and the longest epoch between their exchanges (null: no
    // spike ever reaches another neuron).  Outputs do not depend on them.
    j += fmt::format("  \"threads\": {},\n", threads_running(sim));
    j += fmt::format("  \"partitions\": {},\n", sim.partitions());
    j += fmt::format("  \"lookahead_ms\": {},\n",
                     sim.lookahead() == kNever ? "null" : tb.format_ms(sim.lookahead()));
    j += fmt::format("  \"wall_time_s\": {}\n", json_number(info.wall_time_s));
    j += "}\n";
    return j;
}

const char* format_name(OutputFormat f) { return f == OutputFormat::Csv ? "csv" : "npy"; }

std::optional<OutputFormat> parse_output_format(const std::string& name) {
    if (name == "csv") return OutputFormat::Csv;
    if (name == "npy") return OutputFormat::Npy;
    return std::nullopt;
}

void write_run_outputs(const fs::path& dir, const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    OutputSet out = OutputSet::replacing(dir);
    write_run_outputs(out, sim, spec, info);
}

void write_run_outputs(OutputSet& out, const Simulation& sim, const LoadedSpec& spec, const RunInfo& info) {
    RecordingWriter w(out, sim, spec.spec, info.format);
    w.spikes(sim.sorted_spikes());
    w.voltages(sim.voltage_rows());
    w.rates(sim.rate_samples());
    w.weights(sim.weight_samples());
    w.population_rates(sim.population_rates());
    finish_run_outputs(out, w, sim, spec, info);
}

void finish_run_outputs(OutputSet& out, RecordingWriter& tables, const Simulation& sim, const LoadedSpec& spec,
                        const RunInfo& info) {
    tables.finish();
    out.add("run.json") << run_json(sim, spec, info);
    out.commit();
}

}  // namespace spikeem::io

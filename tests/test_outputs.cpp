// OutputSet: a replaced folder never mixes two runs, leftovers go, the lock
// refuses a second writer, and every write reports the OS's reason.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "file_helpers.hpp"
#include "io/outputs.hpp"

namespace fs = std::filesystem;
using spikeem::io::OutputFile;
using spikeem::io::OutputRefused;
using spikeem::io::OutputSet;
using spikeem::test::error_of;
using spikeem::test::TempDir;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Every file of a folder (no subfolders in these tests) and its contents.
std::map<std::string, std::string> contents(const fs::path& dir) {
    std::map<std::string, std::string> m;
    for (const auto& e : fs::directory_iterator(dir)) m[e.path().filename().string()] = read(e.path());
    return m;
}

// An earlier run's outputs in `dir`.
const std::map<std::string, std::string> kOld = {{"run.json", "old run\n"},
                                                  {"spikes.csv", "old spikes\n"},
                                                  {"voltages.csv", "old voltages\n"},
                                                  {"weights.csv", "old weights\n"}};

void earlier_run(const fs::path& dir) {
    fs::create_directories(dir);
    for (const auto& [name, text] : kOld) std::ofstream(dir / name) << text;
}

// What lies next to `dir` that belongs to it: NAME.* folders and .NAME.lock.
std::set<std::string> beside(const fs::path& dir) {
    const std::string name = dir.filename().string();
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir.parent_path())) {
        const std::string f = e.path().filename().string();
        if (f.rfind(name + ".", 0) == 0 || f == "." + name + ".lock") s.insert(f);
    }
    return s;
}

// A new run's two files, not yet committed.
void add_new(OutputSet& s) {
    s.add("spikes.csv") << "new spikes\n";
    s.add("run.json") << "new run\n";
}

const std::map<std::string, std::string> kNew = {{"run.json", "new run\n"}, {"spikes.csv", "new spikes\n"}};

// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

}  // namespace

TEST_CASE("replacing: the new run takes the earlier run's place as a whole and leaves nothing beside it") {
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    {
        OutputSet s = OutputSet::replacing(dir);
        add_new(s);
        CHECK(contents(dir) == kOld);  // untouched until commit
        s.commit();
    }
    CHECK(contents(dir) == kNew);
    CHECK(beside(dir).empty());

    // Into a folder that does not exist yet, and through a trailing slash.
    const fs::path fresh = t.path / "fresh";
    {
        OutputSet s = OutputSet::replacing(fresh.string() + "/");
        add_new(s);
        s.commit();
    }
    CHECK(contents(fresh) == kNew);
    CHECK(beside(fresh).empty());
}

TEST_CASE("replacing: a failure at any step of commit leaves one run whole and no leftovers") {
    for (const char* at : {"finish", "replace", "remove-old"}) {
        CAPTURE(at);
        TempDir t;
        const fs::path dir = t.path / "out";
        earlier_run(dir);
        {
            OutputSet s = OutputSet::replacing(dir);
            add_new(s);
            s.on_commit_step([&](std::string_view step) {
                if (step == at) throw std::runtime_error("injected");
            });
            CHECK_THROWS_WITH(s.commit(), "injected");
        }
        // Before the folders change places the earlier run stays, after it the new one.
        CHECK(contents(dir) == (std::string_view(at) == "remove-old" ? kNew : kOld));
        CHECK(beside(dir).empty());
    }
}

TEST_CASE("replacing: a rename that fails leaves the earlier run whole and says why") {
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    std::string message;
    {
        OutputSet s = OutputSet::replacing(dir);
        add_new(s);
        // The new folder vanishes just before it should take DIR's place: the rename fails (ENOENT).
        s.on_commit_step([&](std::string_view step) {
            if (step != "replace") return;
            for (const std::string& f : beside(dir))
                if (f.rfind("out.tmp-", 0) == 0) fs::remove_all(t.path / f);
        });
        message = error_of<std::runtime_error>([&] { s.commit(); });
    }
    CHECK(message.find(dir.string()) != std::string::npos);
    CHECK(message.find("No such file or directory") != std::string::npos);
    CHECK(contents(dir) == kOld);
    CHECK(beside(dir).empty());
}

TEST_CASE("replacing: a run killed during commit leaves one run whole, the next run removes what it left") {
    for (const char* at : {"replace", "remove-old"}) {
        CAPTURE(at);
        TempDir t;
        const fs::path dir = t.path / "out";
        earlier_run(dir);
        const pid_t child = ::fork();
        if (child == 0) {
            try {
                OutputSet s = OutputSet::replacing(dir);
                add_new(s);
                s.on_commit_step([&](std::string_view step) {
                    if (step == at) ::raise(SIGKILL);
                });
                s.commit();
            } catch (...) {
                ::_exit(1);
            }
            ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        REQUIRE(WIFSIGNALED(status));
        CHECK(contents(dir) == (std::string_view(at) == "replace" ? kOld : kNew));
        bool left = false;  // the killed run's folder: its new files, or after the exchange the old ones
        const std::string killed = fmt::format("out.tmp-{}-", child);
        for (const std::string& f : beside(dir)) left = left || f.rfind(killed, 0) == 0;
        CHECK(left);

        const auto before = contents(dir);
        {
            OutputSet s = OutputSet::replacing(dir);  // the dead run's lock is free
            const std::string pid = fmt::format("-{}-", child);
            for (const std::string& f : beside(dir)) CHECK(f.find(pid) == std::string::npos);
        }
        CHECK(contents(dir) == before);  // not committed: nothing changed
        CHECK(beside(dir).empty());
    }
}

TEST_CASE("replacing: folders of dead runs beside DIR are removed, those of live processes and others kept") {
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    const pid_t dead = dead_pid();
    const std::string d = std::to_string(dead);
    const std::vector<std::string> folders = {"out.tmp-" + d + "-0badcafe",     "out.old-" + d + "-12345678",
                                              "out.tmp-1-00000001",             "out.tmpx",
                                              "other.tmp-" + d + "-0badcafe", "out.tmp-x-1"};
    for (const std::string& f : folders) {
        fs::create_directories(t.path / f);
        std::ofstream(t.path / f / "spikes.csv") << "a killed run's spikes\n";
    }
    {
        OutputSet s = OutputSet::replacing(dir);
        CHECK_FALSE(fs::exists(t.path / ("out.tmp-" + d + "-0badcafe")));
        CHECK_FALSE(fs::exists(t.path / ("out.old-" + d + "-12345678")));
        CHECK(fs::exists(t.path / "out.tmp-1-00000001"));  // pid 1 is alive
        CHECK(fs::exists(t.path / "out.tmpx"));
        CHECK(fs::exists(t.path / "out.tmp-x-1"));
        CHECK(fs::exists(t.path / ("other.tmp-" + d + "-0badcafe")));
    }
    CHECK(contents(dir) == kOld);
}

TEST_CASE("replacing: the lock refuses a second writer at once and names the folder and the process") {
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    {
        // Another process's lock, as it leaves it: held, its pid inside.
        const fs::path lock = t.path / ".out.lock";
        const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0666);
        REQUIRE(fd >= 0);
        REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
        REQUIRE(::write(fd, "4242\n", 5) == 5);
        const std::string msg = error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(dir); });
        CHECK(msg.find(dir.string()) != std::string::npos);
        CHECK(msg.find("pid 4242") != std::string::npos);
        CHECK(msg.find("another process") != std::string::npos);
        ::close(fd);
    }
    // Two sets in one process: the second waits for nothing, it is refused while the first is open.
    {
        OutputSet first = OutputSet::replacing(dir);
        const std::string msg = error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(dir); });
        CHECK(msg.find("pid " + std::to_string(::getpid())) != std::string::npos);
        add_new(first);
        first.commit();
    }
    CHECK(contents(dir) == kNew);
    OutputSet again = OutputSet::replacing(dir);  // released by commit
}

TEST_CASE("replacing: an unusable folder is refused before anything is written") {
    TempDir t;
    std::ofstream(t.path / "file") << "a file\n";
    CHECK(error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(t.path / "file"); })
              .find("is not a folder") != std::string::npos);
    CHECK(read(t.path / "file") == "a file\n");
    const std::string through =
        error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(t.path / "file/a/out"); });
    CHECK(through.find((t.path / "file/a/out").string()) != std::string::npos);
    CHECK(through.find("Not a directory") != std::string::npos);
    CHECK(error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(t.path / "file" / "out"); }) != "");
    {
        OutputSet s = OutputSet::replacing(t.path / "no/such/out");  // missing parents are created
        CHECK(fs::is_directory(t.path / "no/such"));
    }
    const std::string proc = error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing("/proc/spikeem_out"); });
    CHECK(proc.find("/proc/.spikeem_out.lock") != std::string::npos);
    CHECK(error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing("/"); }) != "");

    // Someone's own folder (files, no run.json) is not replaced; an empty one is.
    fs::create_directories(t.path / "mine");
    std::ofstream(t.path / "mine" / "notes.txt") << "notes\n";
    CHECK(error_of<OutputRefused>([&] { OutputSet s = OutputSet::replacing(t.path / "mine"); }).find("no run.json") !=
          std::string::npos);
    CHECK(read(t.path / "mine" / "notes.txt") == "notes\n");
    CHECK(beside(t.path / "mine").empty());
    fs::create_directories(t.path / "empty");
    OutputSet s = OutputSet::replacing(t.path / "empty");
    add_new(s);
    s.commit();
    CHECK(contents(t.path / "empty") == kNew);
}

TEST_CASE("OutputFile: a failed write says which file and why") {
    OutputFile full("/dev/full");
    full << std::string(1 << 20, 'x');
    const std::string msg = error_of<std::runtime_error>([&] { full.finish(); });
    CHECK(msg.find("/dev/full") != std::string::npos);
    CHECK(msg.find("No space left on device") != std::string::npos);
    CHECK(error_of<std::runtime_error>([] { OutputFile f("/nonexistent/x.csv"); })
              .find("/nonexistent/x.csv: No such file or directory") != std::string::npos);
}

TEST_CASE("OutputFile: check reports a failed write when it happens, not at finish") {
    OutputFile full("/dev/full");
    CHECK_NOTHROW(full.check());
    full << std::string(1 << 20, 'x');  // past the buffer: written at once
    CHECK(error_of<std::runtime_error>([&] { full.check(); }).find("/dev/full: No space left on device") !=
          std::string::npos);
}

TEST_CASE("OutputFile: move_tail moves the bytes after an offset forward and back, and writes go on at the end") {
    TempDir t;
    const fs::path p = t.path / "table";
    std::string data(3 * (1 << 20) + 12345, '\0');  // several of move_tail's chunks
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7919) % 26);
    OutputFile f(p);
    f << "HEAD" << data;
    f.move_tail(4, 68);  // a header that grew by 64 bytes
    f.write_at(0, std::string(68, 'h'));
    f << "END";
    f.move_tail(68, 10);  // and one that shrank
    f.write_at(0, std::string(10, 's'));
    f << "!";
    f.finish();
    CHECK(read(p) == std::string(10, 's') + data + "END!");
}

TEST_CASE("replacing: a failed fsync is reported with its reason and keeps the earlier run") {
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    std::string msg;
    {
        OutputSet s = OutputSet::replacing(dir);
        s.add("spikes.csv");  // nothing buffered: the first call on its descriptor at commit is fsync
        s.add("run.json");
        // The descriptor of spikes.csv closed behind the set's back: fsync fails with EBADF.
        for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
            std::error_code ec;
            const fs::path target = fs::read_symlink(e.path(), ec);
            const std::string folder = target.parent_path().filename().string();
            if (!ec && target.filename() == "spikes.csv" && folder.rfind("out.tmp-", 0) == 0)
                ::close(std::stoi(e.path().filename().string()));
        }
        msg = error_of<std::runtime_error>([&] { s.commit(); });
    }
    CHECK(msg.find("cannot sync ") != std::string::npos);
    CHECK(msg.find("spikes.csv: Bad file descriptor") != std::string::npos);
    CHECK(contents(dir) == kOld);
    CHECK(beside(dir).empty());
}

TEST_CASE("OutputSet: a write that fails midway keeps the earlier outputs, in both ways of writing") {
    // A file size limit makes writes beyond 4 kB fail with EFBIG (SIGXFSZ ignored), as a full disk would.
    struct Limit {
        rlimit old{};
        void (*handler)(int);
        Limit() : handler(std::signal(SIGXFSZ, SIG_IGN)) {
            ::getrlimit(RLIMIT_FSIZE, &old);
            rlimit small = old;
            small.rlim_cur = 4096;
            ::setrlimit(RLIMIT_FSIZE, &small);
        }
        ~Limit() {
            ::setrlimit(RLIMIT_FSIZE, &old);
            std::signal(SIGXFSZ, handler);
        }
    };
    TempDir t;
    const fs::path dir = t.path / "out";
    earlier_run(dir);
    std::string msg;
    {
        OutputSet s = OutputSet::replacing(dir);
        add_new(s);
        Limit limit;
        s.add("voltages.csv") << std::string(100000, 'v');
        msg = error_of<std::runtime_error>([&] { s.commit(); });
    }
    CHECK(msg.find("voltages.csv") != std::string::npos);
    CHECK(msg.find("File too large") != std::string::npos);
    CHECK(contents(dir) == kOld);
    CHECK(beside(dir).empty());

    // Files renamed one by one into a folder that holds other files (em-train's run folder).
    std::ofstream(dir / "model.pb") << "model";
    {
        OutputSet s(dir);
        s.add("train.csv") << "new";
        Limit limit;
        s.add("big.csv") << std::string(100000, 'b');
        msg = error_of<std::runtime_error>([&] { s.commit(); });
    }
    CHECK(msg.find("big.csv") != std::string::npos);
    CHECK(msg.find("File too large") != std::string::npos);
    auto expect = kOld;
    expect["model.pb"] = "model";
    CHECK(contents(dir) == expect);  // no temporaries left
}

TEST_CASE("OutputSet in a shared folder: other files stay, obsolete ones go") {
    TempDir t;
    earlier_run(t.path);
    std::ofstream(t.path / "model.pb") << "model";
    OutputSet s(t.path);
    s.add("spikes.csv") << "new spikes\n";
    s.obsolete("voltages.csv");
    s.obsolete("never_there.csv");
    s.add("run.json") << "new run\n";
    s.commit();
    CHECK(contents(t.path) == std::map<std::string, std::string>{{"model.pb", "model"},
                                                                  {"run.json", "new run\n"},
                                                                  {"spikes.csv", "new spikes\n"},
                                                                  {"weights.csv", "old weights\n"}});
}

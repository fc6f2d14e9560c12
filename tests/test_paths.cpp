// io/paths.hpp: where the binaries find their data files and the Python for
// their plots.  The functions take the executable path, the environment and
// the layout as arguments, so fake trees in a temporary folder stand in for
// an installed prefix and a (moved) build folder.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "file_helpers.hpp"
#include "io/paths.hpp"

namespace fs = std::filesystem;
using namespace spikeem;
using spikeem::test::error_of;
using spikeem::test::write_file;

namespace {

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("spikeem_test_paths_" + std::to_string(::getpid()) + "_" + name)) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

const io::DataLayout kLayout{"../share/spikeem", "share/spikeem", "/usr/local/share/spikeem"};

// An empty file at `p`, its folders made; `mode` sets the permission bits.
void touch(const fs::path& p, mode_t mode = 0644) {
    fs::create_directories(p.parent_path());
    write_file(p, "");
    REQUIRE(::chmod(p.c_str(), mode) == 0);
}

void write_script(const fs::path& p, const std::string& body) {
    write_file(p, "#!/bin/sh\n" + body);
    REQUIRE(::chmod(p.c_str(), 0755) == 0);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("data_dir_candidates: SPIKEEM_DATA_DIR, next to the binary (installed, then build tree), the prefix") {
    using V = std::vector<fs::path>;
    CHECK(io::data_dir_candidates("/opt/sp/bin/spikeem", std::nullopt, kLayout) ==
          V{"/opt/sp/share/spikeem", "/opt/sp/bin/share/spikeem", "/usr/local/share/spikeem"});
    CHECK(io::data_dir_candidates("/opt/sp/bin/spikeem", std::string("/data/x"), kLayout) ==
          V{"/data/x", "/opt/sp/share/spikeem", "/opt/sp/bin/share/spikeem", "/usr/local/share/spikeem"});
    // Set but empty counts as not set; an unknown executable path skips the places next to it.
    CHECK(io::data_dir_candidates("/opt/sp/bin/spikeem", std::string(""), kLayout).size() == 3);
    CHECK(io::data_dir_candidates("", std::string("/data/x"), kLayout) == V{"/data/x", "/usr/local/share/spikeem"});
    // A custom GNUInstallDirs layout (bin/ and share/ at other depths).
    const io::DataLayout deep{"../../share/spikeem", "share/spikeem", "/p/share/spikeem"};
    CHECK(io::data_dir_candidates("/p/x/bin/spikeem", std::nullopt, deep).front() == fs::path("/p/share/spikeem"));
}

TEST_CASE("find_data_file: an installed prefix, moved, finds its files next to its binary") {
    TempDir t("installed");
    const fs::path rel = "examples/benchmarks/cuba_delta.pbtxt";
    touch(t.path / "p1/bin/spikeem", 0755);
    touch(t.path / "p1/share/spikeem" / rel);
    fs::rename(t.path / "p1", t.path / "p2");
    const auto dirs = io::data_dir_candidates(t.path / "p2/bin/spikeem", std::nullopt, kLayout);
    CHECK(io::find_data_file(rel, dirs) == t.path / "p2/share/spikeem" / rel);
    // A folder is found the same way (cli_bench lists examples/benchmarks/).
    CHECK(io::find_data_file("examples/benchmarks", dirs) == t.path / "p2/share/spikeem/examples/benchmarks");
}

TEST_CASE("find_data_file: a build folder, moved, finds its mirror build/share/spikeem") {
    TempDir t("build");
    const fs::path rel = "examples/stdp/plot_stdp_curve.py";
    touch(t.path / "build/spikeem", 0755);
    touch(t.path / "build/share/spikeem" / rel);
    fs::rename(t.path / "build", t.path / "elsewhere");
    const auto dirs = io::data_dir_candidates(t.path / "elsewhere/spikeem", std::nullopt, kLayout);
    CHECK(io::find_data_file(rel, dirs) == t.path / "elsewhere/share/spikeem" / rel);
}

TEST_CASE("find_data_file: SPIKEEM_DATA_DIR first, a file it lacks is looked for in the next places") {
    TempDir t("env");
    touch(t.path / "mine/examples/a.pbtxt");
    touch(t.path / "p/share/spikeem/examples/a.pbtxt");
    touch(t.path / "p/share/spikeem/examples/b.py");
    const auto dirs = io::data_dir_candidates(t.path / "p/bin/spikeem", (t.path / "mine").string(), kLayout);
    CHECK(io::find_data_file("examples/a.pbtxt", dirs) == t.path / "mine/examples/a.pbtxt");
    CHECK(io::find_data_file("examples/b.py", dirs) == t.path / "p/share/spikeem/examples/b.py");
}

TEST_CASE("find_data_file: nothing found names every place looked at and SPIKEEM_DATA_DIR") {
    TempDir t("none");
    const io::DataLayout layout{"../share/spikeem", "share/spikeem", (t.path / "prefix/share/spikeem").string()};
    const auto dirs = io::data_dir_candidates(t.path / "bin/spikeem", (t.path / "env").string(), layout);
    REQUIRE(dirs.size() == 4);
    const std::string msg =
        error_of<io::DataFileError>([&] { io::find_data_file("examples/stdp/plot_stdp_curve.py", dirs); });
    for (const auto& d : dirs) CHECK(contains(msg, (d / "examples/stdp/plot_stdp_curve.py").string()));
    CHECK(contains(msg, "data file examples/stdp/plot_stdp_curve.py not found"));
    CHECK(contains(msg, "set SPIKEEM_DATA_DIR"));
    CHECK(contains(error_of<io::DataFileError>([] { io::find_data_file("x", {}); }), "looked at: nothing"));
}

TEST_CASE("python_candidates: python3 on PATH (executable files only), then /usr/bin/python3 once") {
    TempDir t("path");
    touch(t.path / "a/python3", 0644);  // not executable: skipped
    touch(t.path / "b/python3", 0755);
    touch(t.path / "c/python3", 0755);
    const std::string path = (t.path / "a").string() + ":" + (t.path / "nope").string() + ":" + (t.path / "b").string() +
                             ":" + (t.path / "c").string();
    CHECK(io::python_candidates(path) == std::vector<std::string>{(t.path / "b/python3").string(), "/usr/bin/python3"});
    CHECK(io::python_candidates("") == std::vector<std::string>{"/usr/bin/python3"});
    CHECK(io::python_candidates((t.path / "nope").string()) == std::vector<std::string>{"/usr/bin/python3"});
    // python3 on PATH that is /usr/bin/python3 (here through a symlink) is tried once.
    if (fs::exists("/usr/bin/python3")) {
        fs::create_directories(t.path / "d");
        fs::create_symlink("/usr/bin/python3", t.path / "d/python3");
        CHECK(io::python_candidates((t.path / "d").string()) ==
              std::vector<std::string>{(t.path / "d/python3").string()});
    }
}

TEST_CASE("find_plot_python: SPIKEEM_PYTHON as is, else the first candidate that imports matplotlib") {
    TempDir t("probe");
    // Stand-ins for interpreters: `yes` accepts exactly `-c "import matplotlib"` and logs it, `no` fails.
    const fs::path log = t.path / "log";
    write_script(t.path / "yes", "echo \"$*\" >> '" + log.string() + "'\n[ \"$1\" = -c ] && [ \"$2\" = 'import matplotlib' ]\n");
    write_script(t.path / "no", "echo no >> '" + log.string() + "'\nexit 1\n");
    const std::string yes = (t.path / "yes").string(), no = (t.path / "no").string(), missing = (t.path / "missing").string();

    CHECK(io::find_plot_python(std::nullopt, {missing, no, yes}) == yes);
    std::ifstream in(log);
    const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(logged == "no\n-c import matplotlib\n");  // one start each, in order
    CHECK(io::find_plot_python(std::nullopt, {missing, no}) == std::nullopt);
    // SPIKEEM_PYTHON is not probed: even a program that cannot run is returned.
    CHECK(io::find_plot_python(std::string("/nonexistent"), {yes}) == std::string("/nonexistent"));
    CHECK(io::find_plot_python(std::string(""), {yes}) == yes);  // set but empty: not set
}

TEST_CASE("run_plot: no Python with matplotlib, SPIKEEM_PYTHON that cannot run, a failing script, a plot") {
    TempDir t("run");
    write_script(t.path / "no", "exit 1\n");
    // A fake interpreter: fails the probe's `-c`, else writes the plot file its script argument names.
    write_script(t.path / "py", "[ \"$1\" = -c ] && exit 0\n[ \"$(basename \"$1\")\" = ok.py ] || exit 3\n"
                                "touch \"$2/plot.png\"\n");
    const std::string no = (t.path / "no").string(), py = (t.path / "py").string();
    const fs::path out = t.path / "out";
    fs::create_directories(out);

    io::PlotResult r = io::run_plot(t.path / "ok.py", out, std::nullopt, {no, "/nonexistent/python3"});
    CHECK_FALSE(r.made);
    CHECK(r.why_not == "no Python with matplotlib found (tried: " + no +
                           ", /nonexistent/python3); apt-get install python3-matplotlib or set SPIKEEM_PYTHON");

    r = io::run_plot(t.path / "ok.py", out, std::string("/nonexistent"), {});
    CHECK_FALSE(r.made);
    CHECK(r.why_not == "cannot run SPIKEEM_PYTHON=/nonexistent (No such file or directory)");

    r = io::run_plot(t.path / "bad.py", out, std::nullopt, {no, py});
    CHECK_FALSE(r.made);
    CHECK(contains(r.why_not, "the plot failed (" + py + " "));
    CHECK(contains(r.why_not, "exit status 3"));
    CHECK_FALSE(fs::exists(out / "plot.png"));

    // A folder name with a space and a quote: no shell, so no quoting to get wrong.
    const fs::path odd = t.path / "out dir \"x\"";
    fs::create_directories(odd);
    r = io::run_plot(t.path / "ok.py", odd, std::nullopt, {no, py});
    CHECK(r.made);
    CHECK(r.why_not.empty());
    CHECK(fs::exists(odd / "plot.png"));
}

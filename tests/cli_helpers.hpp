#pragma once
// Running the spikeem binary from a test: its exit status and output.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace spikeem::test {

namespace fs = std::filesystem;

struct Result {
    int status;
    std::string out;  // stdout and stderr
};

inline Result sh(const std::string& args) {
    // A fresh capture file from mkstemp: unique without any shared counter.
    std::string name = (fs::temp_directory_path() / "spikeem_cli_XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    const fs::path log = name;
    std::string cmd = std::string(SPIKEEM_BINARY) + " " + args + " > " + log.string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    fs::remove(log);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ss.str()};
}

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline fs::path fresh_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("spikeem_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    return d;
}

// A command's exit status, stdout and stderr apart (sh() joins them; progress goes to stderr only).
struct Split {
    int status;
    std::string out, err;
};

// `binary args`, its stdout and stderr captured apart.
inline Split run_split(const std::string& binary, const std::string& args) {
    const fs::path dir = fresh_dir("split_capture");
    fs::create_directories(dir);
    const std::string cmd = binary + " " + args + " > " + (dir / "out").string() + " 2> " + (dir / "err").string();
    const int rc = std::system(cmd.c_str());
    Split r{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(dir / "out"), slurp(dir / "err")};
    fs::remove_all(dir);
    return r;
}

// run.json without the lines that say how it ran rather than what it
// computed: wall time, threads and partitions.
inline std::string comparable_run_json(const std::string& json) {
    std::stringstream in(json);
    std::string line, out;
    while (std::getline(in, line))
        if (line.find("\"wall_time_s\"") == std::string::npos && line.find("\"threads\"") == std::string::npos &&
            line.find("\"partitions\"") == std::string::npos)
            out += line + "\n";
    return out;
}

// Every file of folder `dir` by name, run.json as comparable_run_json.
inline std::map<std::string, std::string> folder_bytes(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        files[name] = name == "run.json" ? comparable_run_json(slurp(e.path())) : slurp(e.path());
    }
    return files;
}

// Peak resident set (bytes) of `spikeem ARGS...`, from wait4 on that one process.
inline double peak_rss_bytes(const std::vector<std::string>& args) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::vector<char*> argv{const_cast<char*>(SPIKEEM_BINARY)};
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(SPIKEEM_BINARY, argv.data());
        ::_exit(127);
    }
    int status = 0;
    struct rusage ru {};
    REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return static_cast<double>(ru.ru_maxrss) * 1024.0;
}

}  // namespace spikeem::test

#include "io/paths.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

// Set by CMakeLists.txt from GNUInstallDirs; the defaults are its defaults.
#ifndef SPIKEEM_BIN_TO_DATA
#define SPIKEEM_BIN_TO_DATA "../share/spikeem"
#endif
#ifndef SPIKEEM_INSTALL_DATA_DIR
#define SPIKEEM_INSTALL_DATA_DIR "/usr/local/share/spikeem"
#endif

namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

// This binary's path (the kernel resolves symlinks), empty if unknown.
fs::path exe_path() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p;
}

// How a child process ended: not started (spawn_error is the errno), or its
// exit status (-1 when a signal ended it).
struct ChildResult {
    int spawn_error = 0;
    int exit_status = -1;
};

// Runs argv[0] (looked up on PATH when it has no '/') with `argv` and waits
// for it; `quiet` sends its stdout and stderr to /dev/null.  No shell: paths
// need no quoting.
ChildResult run_child(const std::vector<std::string>& argv, bool quiet) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet) {
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    }
    ChildResult r;
    pid_t pid = 0;
    r.spawn_error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (r.spawn_error != 0) return r;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            r.spawn_error = errno;
            return r;
        }
    }
    if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
    return r;
}

std::string joined(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
    return s;
}

}  // namespace

DataLayout configured_layout() { return {SPIKEEM_BIN_TO_DATA, "share/spikeem", SPIKEEM_INSTALL_DATA_DIR}; }

std::vector<fs::path> data_dir_candidates(const fs::path& exe_path, const std::optional<std::string>& env_data_dir,
                                          const DataLayout& layout) {
    std::vector<fs::path> dirs;
    if (env_data_dir && !env_data_dir->empty()) dirs.emplace_back(*env_data_dir);
    if (!exe_path.empty()) {
        const fs::path exe_dir = exe_path.parent_path();
        dirs.push_back((exe_dir / layout.bin_to_data).lexically_normal());
        dirs.push_back((exe_dir / layout.build_tree_data).lexically_normal());
    }
    if (!layout.installed_data_dir.empty()) dirs.push_back(layout.installed_data_dir.lexically_normal());
    return dirs;
}

fs::path find_data_file(const fs::path& relative, const std::vector<fs::path>& dirs) {
    std::vector<std::string> tried;
    for (const auto& d : dirs) {
        const fs::path p = d / relative;
        std::error_code ec;
        if (fs::exists(p, ec)) return p;
        tried.push_back(p.string());
    }
    throw DataFileError(fmt::format(
        "data file {} not found (looked at: {}); set SPIKEEM_DATA_DIR to the folder that holds examples/ "
        "(PREFIX/share/spikeem of an install, or the source tree)",
        relative.string(), tried.empty() ? "nothing" : joined(tried)));
}

fs::path find_data_file(const fs::path& relative) {
    return find_data_file(relative, data_dir_candidates(exe_path(), env("SPIKEEM_DATA_DIR"), configured_layout()));
}

std::vector<std::string> python_candidates(const std::string& path_env) {
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (!path_env.empty() && begin <= path_env.size()) {
        std::size_t end = path_env.find(':', begin);
        if (end == std::string::npos) end = path_env.size();
        // An empty PATH entry means the current folder.
        const fs::path dir = end > begin ? fs::path(path_env.substr(begin, end - begin)) : fs::current_path();
        const fs::path p = dir / "python3";
        std::error_code ec;
        if (fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0) {
            out.push_back(fs::absolute(p, ec).lexically_normal().string());
            break;
        }
        begin = end + 1;
    }
    const std::string system_python = "/usr/bin/python3";
    std::error_code ec;
    if (out.empty() || !fs::equivalent(out.front(), system_python, ec)) out.push_back(system_python);
    return out;
}

std::optional<std::string> find_plot_python(const std::optional<std::string>& env_python,
                                            const std::vector<std::string>& candidates) {
    if (env_python && !env_python->empty()) return env_python;
    for (const auto& c : candidates) {
        const ChildResult r = run_child({c, "-c", "import matplotlib"}, true);
        if (r.spawn_error == 0 && r.exit_status == 0) return c;
    }
    return std::nullopt;
}

PlotResult run_plot(const fs::path& script_path, const fs::path& out_dir, const std::optional<std::string>& env_python,
                    const std::vector<std::string>& candidates) {
    const std::optional<std::string> python = find_plot_python(env_python, candidates);
    if (!python)
        return {false, fmt::format("no Python with matplotlib found (tried: {}); apt-get install python3-matplotlib or "
                                   "set SPIKEEM_PYTHON",
                                   joined(candidates))};
    std::fflush(stdout);  // our lines before the script's
    std::cout.flush();
    const ChildResult r = run_child({*python, script_path.string(), out_dir.string()}, false);
    const bool from_env = env_python && !env_python->empty();
    if (r.spawn_error != 0)
        return {false, fmt::format("cannot run {}{} ({})", from_env ? "SPIKEEM_PYTHON=" : "", *python,
                                   std::strerror(r.spawn_error))};
    if (r.exit_status != 0)
        return {false, fmt::format("the plot failed ({} {} {}: {})", *python, script_path.string(), out_dir.string(),
                                   r.exit_status < 0 ? "ended by a signal"
                                                     : fmt::format("exit status {}", r.exit_status))};
    return {true, ""};
}

bool make_plot(std::string_view program, const fs::path& script, const fs::path& out_dir) {
    PlotResult r;
    try {
        const fs::path script_path = find_data_file(script);
        const std::optional<std::string> env_python = env("SPIKEEM_PYTHON");
        const std::vector<std::string> candidates =
            env_python ? std::vector<std::string>{} : python_candidates(env("PATH").value_or(""));
        r = run_plot(script_path, out_dir, env_python, candidates);
    } catch (const DataFileError& e) {
        r.why_not = fmt::format("no plot: {}", e.what());
    }
    if (!r.made) fmt::print(stderr, "{}: {}; the CSV outputs are complete\n", program, r.why_not);
    return r.made;
}

}  // namespace spikeem::io

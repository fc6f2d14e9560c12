#pragma once
// Where spikeem finds its data files (the examples/ tree: plot scripts,
// benchmark specs) and the Python that runs its plot scripts.
//
// No source or build path is compiled in: a binary looks next to itself first,
// so an installed tree (PREFIX/bin/spikeem, PREFIX/share/spikeem/examples/...)
// and a build tree (build/spikeem, build/share/spikeem/examples/..., the same
// layout) both keep working when moved.  The configured install prefix is
// only the last place looked at.
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spikeem::io {

// A data file that is in none of the places looked at; the message names each
// of them and SPIKEEM_DATA_DIR.
struct DataFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// How an installed tree is laid out, relative to the binary, and where the
// configured prefix puts the data (the fallback).
struct DataLayout {
    std::filesystem::path bin_to_data;         // from the binary's folder to PREFIX/share/spikeem, relative
    std::filesystem::path build_tree_data;     // from a build tree's binary folder to its mirror, relative
    std::filesystem::path installed_data_dir;  // the configured PREFIX/share/spikeem, absolute
};

// The layout this binary was configured with (CMakeLists.txt: GNUInstallDirs).
DataLayout configured_layout();

// The folders that may hold the data, in the order they are tried:
// `env_data_dir` ($SPIKEEM_DATA_DIR) when set and not empty; EXE_DIR/bin_to_data
// (an installed binary); EXE_DIR/build_tree_data (a build tree);
// installed_data_dir.  An empty `exe_path` (not known) skips the two places
// next to the binary.  Pure: looks at no file.
std::vector<std::filesystem::path> data_dir_candidates(const std::filesystem::path& exe_path,
                                                       const std::optional<std::string>& env_data_dir,
                                                       const DataLayout& layout);

// DIR/relative for the first DIR of `dirs` where it exists (file or folder);
// else a DataFileError naming every path looked at.
std::filesystem::path find_data_file(const std::filesystem::path& relative,
                                     const std::vector<std::filesystem::path>& dirs);

// The same for this process: /proc/self/exe, $SPIKEEM_DATA_DIR, configured_layout().
// `relative` is e.g. "examples/benchmarks/cuba_delta.pbtxt".
std::filesystem::path find_data_file(const std::filesystem::path& relative);

// The programs that may run the plot scripts when SPIKEEM_PYTHON is not set,
// in the order they are tried: the first `python3` on `path_env` ($PATH, as an
// absolute path) and /usr/bin/python3, the second left out when it is the
// same file as the first.
std::vector<std::string> python_candidates(const std::string& path_env);

// The Python that runs the plot scripts: `env_python` ($SPIKEEM_PYTHON) as is
// when set and not empty, else the first of `candidates` that can import
// matplotlib (one process start each, tried in order), else nullopt.
std::optional<std::string> find_plot_python(const std::optional<std::string>& env_python,
                                            const std::vector<std::string>& candidates);

// Whether a plot was made, and if not, why (one line, no program name).
struct PlotResult {
    bool made = false;
    std::string why_not;
};

// Runs `PYTHON script_path out_dir`, PYTHON from find_plot_python(env_python,
// candidates), and waits for it.  No shell: the paths need no quoting.
PlotResult run_plot(const std::filesystem::path& script_path, const std::filesystem::path& out_dir,
                    const std::optional<std::string>& env_python, const std::vector<std::string>& candidates);

// The same for this process and the data file `script` (e.g.
// "examples/stdp/plot_stdp_curve.py"): the script from find_data_file,
// Python from $SPIKEEM_PYTHON or python_candidates($PATH) (probed here, once
// per call).  Returns whether the plot was made; if not, says why on stderr
// as "PROGRAM: ...; the CSV outputs are complete".
bool make_plot(std::string_view program, const std::filesystem::path& script, const std::filesystem::path& out_dir);

}  // namespace spikeem::io

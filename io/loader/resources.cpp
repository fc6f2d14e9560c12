#include "io/loader/resources.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include "io/spec_loader.hpp"
#include "network/estimate.hpp"

namespace spikeem::io::loader {

void check_memory(const NetworkSpec& spec, const std::string& origin, Recording recording) {
    const MemoryEstimate e = estimate_memory(spec, recording);
    const double have = physical_memory_bytes();
    if (have <= 0.0 || e.bytes <= have) return;
    std::string parts;
    for (std::size_t k = 0; k < e.parts.size() && k < 3; ++k)
        parts += fmt::format("\n  {}: {}", e.parts[k].what, format_bytes(e.parts[k].bytes));
    throw SpecError(fmt::format("{}: the spec needs about {} of memory, more than this machine's {} "
                                "(recorded spikes not counted); the largest parts:{}",
                                origin, format_bytes(e.bytes), format_bytes(have), parts));
}

double free_disk_bytes(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return -1.0;
    return static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize);
}

void check_disk(const NetworkSpec& spec, const std::string& origin, bool npy, double free_bytes,
                const std::string& where) {
    const DiskEstimate e = estimate_disk(spec, npy);
    if (e.bytes <= free_bytes) return;
    std::string parts;
    for (std::size_t k = 0; k < e.parts.size() && k < 3; ++k)
        parts += fmt::format("\n  {}: {}", e.parts[k].what, format_bytes(e.parts[k].bytes));
    throw SpecError(fmt::format("{}: the outputs ({}) need about {} of disk, more than the {} free in {} (recorded "
                                "spikes not counted); the largest parts:{}",
                                origin, npy ? "npy" : "csv", format_bytes(e.bytes), format_bytes(free_bytes), where,
                                parts));
}

}  // namespace spikeem::io::loader

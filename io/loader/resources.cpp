#include "io/loader/resources.hpp"

#include <fmt/format.h>

#include "io/spec_loader.hpp"
#include "network/estimate.hpp"

namespace spikeem::io::loader {

void check_memory(const NetworkSpec& spec, const std::string& origin) {
    const MemoryEstimate e = estimate_memory(spec);
    const double have = physical_memory_bytes();
    if (have <= 0.0 || e.bytes <= have) return;
    std::string parts;
    for (std::size_t k = 0; k < e.parts.size() && k < 3; ++k)
        parts += fmt::format("\n  {}: {}", e.parts[k].what, format_bytes(e.parts[k].bytes));
    throw SpecError(fmt::format("{}: the spec needs about {} of memory, more than this machine's {} "
                                "(recorded spikes not counted); the largest parts:{}",
                                origin, format_bytes(e.bytes), format_bytes(have), parts));
}

}  // namespace spikeem::io::loader

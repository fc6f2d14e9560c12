#pragma once
// Refusing specs that need more memory than the machine has, before anything
// is allocated (network/estimate.hpp makes the estimate).
#include <string>

#include "network/spec.hpp"

namespace spikeem::io::loader {

// Throws SpecError, naming the estimate, the machine's memory and the largest
// parts of the spec, when the estimate exceeds the machine's physical memory.
void check_memory(const NetworkSpec& spec, const std::string& origin);

}  // namespace spikeem::io::loader

#pragma once
// Refusing specs that need more memory than the machine has, before anything
// is allocated (network/estimate.hpp makes the estimate).
#include <string>

#include "network/estimate.hpp"
#include "network/spec.hpp"

namespace spikeem::io::loader {

// Throws SpecError, naming the estimate, the machine's memory and the largest
// parts of the spec, when the estimate exceeds the machine's physical memory.
void check_memory(const NetworkSpec& spec, const std::string& origin, Recording recording = Recording::InMemory);

// The bytes that unprivileged writers may still use on the filesystem of
// `path` (statvfs; negative when it cannot be asked).
double free_disk_bytes(const std::string& path);

// Throws SpecError, naming the disk estimate of the run's tables (npy or
// CSV), the free space and the largest parts (the recorder responsible
// first), when the estimate exceeds `free_bytes`, the space left where they
// are written (free_disk_bytes of the output folder; a parameter so that
// tests need no full disk).
void check_disk(const NetworkSpec& spec, const std::string& origin, bool npy, double free_bytes,
                const std::string& where);

}  // namespace spikeem::io::loader

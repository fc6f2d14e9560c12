#pragma once
// Large arrays on 2 MiB pages (Linux transparent huge pages).
//
// A large network reads its synapse rows, weights and neuron states at random
// places.  With 4 KiB pages nearly every such read of an array of tens of MiB
// also misses the TLB, and the page walk is one more dependent memory access
// before the data.  Debian's kernel gives huge pages only to memory that asks
// for them (transparent_hugepage=madvise), so an array of at least
// kHugeArrayBytes is mapped on its own, 2 MiB-aligned, its size rounded up to
// whole huge pages, and marked MADV_HUGEPAGE before it is first touched:
//  - on its own (mmap), not from malloc: memory that malloc hands back may
//    already be backed by small pages (an array freed while the network was
//    built), and MADV_HUGEPAGE does not change pages that exist;
//  - whole huge pages: the kernel maps a huge page only where 2 MiB of the
//    range lie inside it, so an array of 1.9 MiB, or the last 1.9 MiB of a
//    longer one, would otherwise stay on small pages.  The rounding costs less
//    than 2 MiB per array (an array of 1 MiB takes 2 MiB).
// A hint only: where the kernel has no huge page to give, or on another system,
// the pages are ordinary ones and the contents the same.  Smaller arrays come
// from std::allocator as usual.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spikeem {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;
// From this size on an array goes on huge pages (below it, the rounding would
// more than double it).
inline constexpr std::size_t kHugeArrayBytes = std::size_t{1} << 20;

// What an array of `bytes` (at least kHugeArrayBytes) occupies: whole huge pages.
constexpr std::size_t huge_mapping_bytes(std::size_t bytes) {
    return (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

// `bytes` (a multiple of kHugePageBytes) of fresh memory on a 2 MiB boundary,
// marked for huge pages; unmap_huge(p, bytes) gives it back.
inline void* map_huge(std::size_t bytes) {
#if defined(__linux__)
    const std::size_t span = bytes + kHugePageBytes;  // room to move the start to a boundary
    void* const m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(m);
    const std::uintptr_t start = (base + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    const std::uintptr_t end = start + bytes;  // <= base + span
    // The head before the boundary and the tail after the array go back.
    if (start > base) munmap(m, start - base);
    if (base + span > end) munmap(reinterpret_cast<void*>(end), base + span - end);
    void* const p = reinterpret_cast<void*>(start);
#if defined(MADV_HUGEPAGE)
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // refused: ordinary pages, same contents
#endif
    return p;
#else
    void* p = nullptr;
    if (posix_memalign(&p, kHugePageBytes, bytes) != 0) throw std::bad_alloc();
    return p;
#endif
}

inline void unmap_huge(void* p, std::size_t bytes) noexcept {
#if defined(__linux__)
    munmap(p, bytes);
#else
    (void)bytes;
    std::free(p);
#endif
}

template <class T>
class HugePageAllocator {
public:
    using value_type = T;
    HugePageAllocator() noexcept = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n < kHugeArrayBytes / sizeof(T)) return std::allocator<T>{}.allocate(n);
        if (n > (static_cast<std::size_t>(-1) - 2 * kHugePageBytes) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(map_huge(huge_mapping_bytes(n * sizeof(T))));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n < kHugeArrayBytes / sizeof(T)) std::allocator<T>{}.deallocate(p, n);
        else unmap_huge(p, huge_mapping_bytes(n * sizeof(T)));
    }

    template <class U>
    bool operator==(const HugePageAllocator<U>&) const noexcept {
        return true;
    }
};

// A vector whose storage, when large, sits on huge pages.
template <class T>
using BigVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace spikeem

#pragma once
// Large arrays on 2 MiB pages (Linux transparent huge pages).
//
// A large network reads its synapse rows, weights and neuron states at random
// places.  With 4 KiB pages nearly every such read of an array of tens of MiB
// also misses the TLB, and the page walk is one more dependent memory access
// before the data.  Debian's kernel gives huge pages only to memory that asks
// for them (transparent_hugepage=madvise), so an array of at least
// kHugePageBytes is allocated 2 MiB-aligned (posix_memalign) and marked
// MADV_HUGEPAGE before it is first touched.  A hint only: where the kernel has
// no huge page to give, or on another system, the pages are ordinary ones.
// Smaller arrays come from std::allocator as usual.
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace spikeem {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T>
class HugePageAllocator {
public:
    using value_type = T;
    HugePageAllocator() noexcept = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n < kHugePageBytes / sizeof(T)) return std::allocator<T>{}.allocate(n);
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        const std::size_t bytes = n * sizeof(T);
        void* p = nullptr;
        if (posix_memalign(&p, kHugePageBytes, bytes) != 0) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
        (void)madvise(p, bytes, MADV_HUGEPAGE);  // refused: ordinary pages, same contents
#endif
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n < kHugePageBytes / sizeof(T)) std::allocator<T>{}.deallocate(p, n);
        else std::free(p);
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

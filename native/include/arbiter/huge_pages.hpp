// An allocator for the core's large arrays (an index's rows, their bf16 copy, the binding's
// reused input copies) that asks Linux for transparent huge pages. Touching fresh memory costs a
// page fault per 4 KiB page; on some VMs a fault is ~10 us (measured on this project's 2-core dev
// VM: 64 MiB zeroed in 174 ms in 4 KiB pages, 5.5 ms in 2 MiB ones), so a 10,000 x 256 index's
// 5 MB of rows faulted in ~13 ms, and a 1,000,000-point one's in over a second. An allocation of
// 2 MiB or more is 2 MiB-aligned and marked MADV_HUGEPAGE (honoured where the kernel's THP mode is
// "madvise" or "always"; elsewhere, and off Linux, a plain aligned allocation). Smaller ones use
// operator new.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace arbiter {

constexpr size_t kHugePage = size_t{2} << 20;

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: implicit, for rebinding

  static bool huge(size_t n) noexcept { return n * sizeof(T) >= kHugePage; }

  T* allocate(size_t n) {
    if (n > (static_cast<size_t>(-1) - kHugePage) / sizeof(T)) throw std::bad_alloc();  // rounding up stays finite
    if (!huge(n)) return static_cast<T*>(::operator new(n * sizeof(T)));
    const size_t bytes = (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice: refused (THP off) changes nothing
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (huge(n))
      std::free(p);
    else
      ::operator delete(p);
  }
};

template <typename T, typename U>
bool operator==(const HugePageAllocator<T>&, const HugePageAllocator<U>&) noexcept {
  return true;
}
template <typename T, typename U>
bool operator!=(const HugePageAllocator<T>&, const HugePageAllocator<U>&) noexcept {
  return false;
}

// A vector in huge pages once it is 2 MiB or more.
template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace arbiter

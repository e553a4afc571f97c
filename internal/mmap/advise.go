package mmap

import (
	"fmt"
	"unsafe"
)

// HugePageSize is the size of a transparent huge page on the platforms where
// edgeai asks for them (2 MiB on x86-64 and on arm64 with 4 KiB pages).
const HugePageSize = 2 << 20

// HugePages asks the kernel to back the HugePageSize-aligned part of b with
// transparent huge pages (madvise MADV_HUGEPAGE), which spares the TLB
// misses of streaming through hundreds of megabytes of weights in 4 KiB
// pages. It reports whether the advice was taken: false where the platform
// has no such advice, where b holds no aligned huge page, or where the kernel
// refused (transparent huge pages disabled). It is only advice: the contents
// of b do not change.
func HugePages(b []byte) bool {
	lo, hi := interior(b, HugePageSize)
	if lo >= hi {
		return false
	}
	return adviseHuge(b[lo:hi])
}

// DontNeed tells the kernel that the page-aligned part of b, a view into a
// read-only file Mapping, will not be read soon: the pages leave the
// process's resident set (the page cache keeps them; reading b again faults
// them back in). It reports whether the advice was taken. Use it only on
// mapped file views: on anonymous memory the advice discards the contents.
func DontNeed(b []byte) bool {
	lo, hi := interior(b, pageSize)
	if lo >= hi {
		return false
	}
	return adviseDontNeed(b[lo:hi])
}

// AllocHuge returns n zero bytes of ordinary Go memory (the garbage collector
// frees it) whose start is aligned to HugePageSize and which the kernel is
// asked to back with transparent huge pages where it can (see HugePages).
// It costs up to HugePageSize bytes more than n. n <= 0 gives an empty slice.
func AllocHuge(n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	if n > maxAlloc-HugePageSize {
		panic("mmap: AllocHuge: size too large") // callers bound n by a file's size
	}
	buf := make([]byte, n+HugePageSize)
	off, _ := interior(buf, HugePageSize)
	b := buf[off : off+n : off+n]
	// The allocator may have zeroed (and so faulted in) b's pages in 4 KiB
	// units already. Handing them back after the advice (untouched anonymous
	// memory reads as zeros, as the Go heap expects of it) makes the
	// caller's first writes fault in huge pages instead of waiting for
	// khugepaged to merge small ones.
	if lo, hi := interior(b, HugePageSize); lo < hi && adviseHuge(b[lo:hi]) {
		adviseDontNeed(b[lo:hi])
	}
	return b
}

// Anon returns a Mapping of n zero bytes of private, writable memory outside
// the Go heap, aligned to HugePageSize and backed by transparent huge pages
// where the kernel allows (see HugePages). Unlike AllocHuge's memory it goes
// back to the system at Close, not at some later garbage collection; as
// with a file Mapping, slices of it must not be used after Close. Where the
// platform cannot map anonymous memory it falls back to AllocHuge (Close
// then leaves the memory to the garbage collector). Mapped reports false.
func Anon(n int) (*Mapping, error) {
	if n < 0 || n > maxAlloc-HugePageSize {
		return nil, fmt.Errorf("mmap: anonymous mapping of %d bytes", n)
	}
	if n == 0 {
		return &Mapping{data: []byte{}}, nil
	}
	region, err := mapAnon(n + HugePageSize)
	if err != nil {
		return nil, fmt.Errorf("mmap: anonymous mapping of %d bytes: %w", n, err)
	}
	if region == nil { // no mmap here
		return &Mapping{data: AllocHuge(n)}, nil
	}
	off, _ := interior(region, HugePageSize)
	data := region[off : off+n : off+n]
	HugePages(data)
	return &Mapping{data: data, region: region}, nil
}

// AnonSparse is Anon for memory that is written and read a few pages at a
// time (rows loaded on first use): page aligned, and kept out of
// transparent huge pages (MADV_NOHUGEPAGE where the kernel backs anonymous
// memory with them by default), so that touching one row makes 4 KiB
// resident, not 2 MiB. Untouched pages cost no memory. Where the platform
// cannot map anonymous memory it returns ordinary Go memory.
func AnonSparse(n int) (*Mapping, error) {
	if n < 0 || n > maxAlloc-HugePageSize {
		return nil, fmt.Errorf("mmap: anonymous mapping of %d bytes", n)
	}
	if n == 0 {
		return &Mapping{data: []byte{}}, nil
	}
	region, err := mapAnon(n)
	if err != nil {
		return nil, fmt.Errorf("mmap: anonymous mapping of %d bytes: %w", n, err)
	}
	if region == nil { // no mmap here
		return &Mapping{data: make([]byte, n)}, nil
	}
	adviseNoHuge(region)
	return &Mapping{data: region[:n:n], region: region}, nil
}

// maxAlloc bounds AllocHuge's size: the largest slice the platform holds.
const maxAlloc = int(^uint(0) >> 1)

// interior returns the bounds [lo, hi) of the largest part of b whose start
// and length are multiples of align (a power of two).
func interior(b []byte, align int) (lo, hi int) {
	if len(b) == 0 {
		return 0, 0
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo = int((uintptr(align) - addr%uintptr(align)) % uintptr(align))
	if lo >= len(b) {
		return 0, 0
	}
	hi = lo + (len(b)-lo)/align*align
	return lo, hi
}

// Available returns the memory the system can give a process without
// swapping (MemAvailable of /proc/meminfo on Linux), and false where it is
// not known.
func Available() (int64, bool) { return available() }

//! `ssot-alloc`: the global allocator of the `ssot` binary and of the schema benchmarks.
//!
//! It is mimalloc, as the `mimalloc` crate provides, with one difference: that crate sends
//! every allocation through mimalloc's aligned API (`mi_malloc_aligned`), whose fast path
//! does more checks, and which, when the size class at hand has no free block and the
//! class's size is not a power of two, falls back to over-allocating. Checking a schema
//! makes thousands of small allocations with alignments of 1 to 8, and that path cost 2%
//! of all its instructions. So allocations that `mi_malloc` aligns anyway take
//! `mi_malloc`, as the standard library's `System` allocator does with `malloc`; the rest
//! keep the aligned API.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: ssot_alloc::Mimalloc = ssot_alloc::Mimalloc;
//! ```

#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use libmimalloc_sys as ffi;

/// The alignment `mi_malloc` gives every block of at least this many bytes (mimalloc's
/// `MI_MAX_ALIGN_SIZE`, `alignof(max_align_t)` on the platforms we build for).
const MIN_ALIGN: usize = 16;

/// Whether `mi_malloc` alone returns memory aligned for `align` when asked for `size` bytes.
///
/// mimalloc serves a request from a size class whose blocks start at multiples of the
/// class's size from a 16-byte-aligned page area. The classes are 8 bytes, then multiples
/// of 16 (mimalloc rounds small sizes to two machine words, `MI_ALIGN2W`), so every block
/// is aligned to 16 bytes, or to 8 for the 8-byte class. A Rust layout's size is a multiple
/// of its alignment, so `align <= size` with `align <= 16` is always met: an 8-byte size
/// asks for at most 8, and any larger size lands in a class aligned to 16. This is the
/// condition under which `std`'s `System` allocator trusts `malloc` too.
#[inline]
fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

/// mimalloc as the global allocator.
pub struct Mimalloc;

// SAFETY: every method hands mimalloc's result back unchanged: a block of at least the
// requested size, aligned as the layout asks (by `plain` above when the plain API is used,
// by the aligned API otherwise), or null on failure, as `GlobalAlloc` requires. Blocks are
// freed by `mi_free` and resized by `mi_realloc`/`mi_realloc_aligned`, which take blocks
// from either API.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            ffi::mi_malloc(layout.size()).cast()
        } else {
            ffi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            ffi::mi_zalloc(layout.size()).cast()
        } else {
            ffi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        ffi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            ffi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            ffi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

//! Small blocks from per-size free lists, in front of a global allocator.
//!
//! An evaluation allocates a few thousand small blocks (a cart line's attribute key, value and
//! map, the lists a reward builds) and frees them all before it returns. A general allocator
//! such as talc spends about 250 Wasm instructions on an allocation and its free together,
//! finding a fitting gap and merging it with its neighbours when freed. Here a request of at most
//! [`MAX_SMALL`] bytes is rounded up to a power of two and served from that size's free list: a
//! freed block goes back on its list, not to the allocator, so the next request of the same size
//! takes it in a few instructions. An empty list is refilled from the allocator a [`CHUNK`] at a
//! time, cut into blocks of its size: loading a manifest allocates thousands of small blocks and
//! frees few, and asked the allocator for each one.
//!
//! Memory kept on the lists is not given back to the allocator, and a block never moves to
//! another size: what the lists hold is bounded by the sum, over the sizes, of the most blocks of
//! that size ever live at once and one chunk (Wasm memory never shrinks anyway).
//!
//! Sound only where there is one thread: the lists are plain cells. It refuses to build for a
//! target with Wasm threads (`atomics`).
#![no_std]

#[cfg(target_feature = "atomics")]
compile_error!("wasm-pool keeps its free lists in plain cells: one thread only");

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// The largest request served from the lists, in bytes (size or alignment, whichever is larger).
pub const MAX_SMALL: usize = 512;
const MIN_SHIFT: u32 = 3; // 8 bytes: room for the next pointer of a free block
const CLASSES: usize = (MAX_SMALL.trailing_zeros() - MIN_SHIFT + 1) as usize;
/// Bytes asked of the allocator to refill an empty list: 256 blocks of 8 bytes, 4 of 512.
pub const CHUNK: usize = 2048;
const _: () = assert!(CHUNK >= MAX_SMALL && CHUNK.is_power_of_two());

/// `inner`, with free lists for blocks of 8, 16, ..., [`MAX_SMALL`] bytes in front of it.
pub struct Pool<A> {
    inner: A,
    /// The first free block of each size; a free block's first word points to the next one.
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: Wasm without threads (the compile_error above refuses them): one thread touches it.
// Nowhere else: natively a `Pool` is not `Sync`, so it cannot be a global allocator there.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<A: Sync> Sync for Pool<A> {}

impl<A> Pool<A> {
    pub const fn new(inner: A) -> Self {
        Pool {
            inner,
            free: UnsafeCell::new([ptr::null_mut(); CLASSES]),
        }
    }

    /// The allocator behind the lists.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

impl<A: GlobalAlloc> Pool<A> {
    /// A block of class `c`, whose list (`head`) is empty: the first of a new chunk, the rest of
    /// which goes on the list in address order. One block alone when the chunk can't be had.
    #[cold]
    #[inline(never)]
    unsafe fn refill(&self, c: usize, head: &mut *mut u8) -> *mut u8 {
        let b = block(c);
        // SAFETY: CHUNK is a power of two at least as large as any block, so a multiple of its
        // alignment, and not zero.
        let chunk = unsafe {
            self.inner
                .alloc(Layout::from_size_align_unchecked(CHUNK, b.align()))
        };
        if chunk.is_null() {
            return unsafe { self.inner.alloc(b) };
        }
        for k in (1..CHUNK / b.size()).rev() {
            // SAFETY: block k of the chunk lies within it, aligned to its size; it is free, and
            // its first word becomes the list's next pointer.
            unsafe {
                let free = chunk.add(k * b.size());
                free.cast::<*mut u8>().write(*head);
                *head = free;
            }
        }
        chunk
    }
}

/// The list a layout is served from: its size or alignment rounded up to a power of two (so a
/// block of that size, allocated at that alignment, suits every layout of the class).
#[inline(always)]
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align());
    if size > MAX_SMALL {
        return None;
    }
    let shift = usize::BITS - (size.max(1 << MIN_SHIFT) - 1).leading_zeros();
    Some((shift - MIN_SHIFT) as usize)
}

/// The block size of a class, which is also its alignment.
#[inline(always)]
fn block(class: usize) -> Layout {
    let size = 1usize << (class as u32 + MIN_SHIFT);
    // SAFETY: a power of two not above MAX_SMALL, aligned to itself.
    unsafe { Layout::from_size_align_unchecked(size, size) }
}

unsafe impl<A: GlobalAlloc> GlobalAlloc for Pool<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else {
            return unsafe { self.inner.alloc(layout) };
        };
        // SAFETY: one thread (see Sync); no reference to the lists outlives this call.
        let head = unsafe { &mut (*self.free.get())[c] };
        if head.is_null() {
            return unsafe { self.refill(c, head) };
        }
        let taken = *head;
        // SAFETY: a block on a list is free and at least 8 bytes; its first word is the next.
        *head = unsafe { taken.cast::<*mut u8>().read() };
        taken
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else {
            return unsafe { self.inner.dealloc(ptr, layout) };
        };
        // SAFETY: `ptr` was served for `layout`, so from class `c` (the class depends on the
        // layout alone), and is a block of at least 8 bytes aligned to its size.
        let head = unsafe { &mut (*self.free.get())[c] };
        unsafe { ptr.cast::<*mut u8>().write(*head) };
        *head = ptr;
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `new_size`, rounded up to `layout.align()`, fits a Layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (Some(a), Some(b)) if a == b => ptr,
            (None, None) => unsafe { self.inner.realloc(ptr, layout, new_size) },
            _ => {
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    // SAFETY: both blocks are valid for the smaller size and distinct.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                moved
            }
        }
    }
}

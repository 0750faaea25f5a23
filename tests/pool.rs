//! `wasm_pool::Pool`, the free lists in front of talc in the Wasm, over the system allocator:
//! random allocations, frees and reallocations of every size to past the largest class, each
//! block aligned as asked and filled with its own pattern, checked intact until it is freed (a
//! block handed out twice, or a free list that overlaps a live block, overwrites a pattern).
#![allow(unsafe_code, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use wasm_pool::{Pool, CHUNK, MAX_SMALL};

struct Live {
    ptr: *mut u8,
    layout: Layout,
    seed: u8,
}

fn fill(b: &Live) {
    for i in 0..b.layout.size() {
        // SAFETY: the block is live and `layout.size()` bytes long.
        unsafe { b.ptr.add(i).write(b.seed.wrapping_add(i as u8)) };
    }
}

fn intact(b: &Live, len: usize) -> bool {
    // SAFETY: as in `fill`, for the first `len <= size` bytes.
    (0..len).all(|i| unsafe { b.ptr.add(i).read() } == b.seed.wrapping_add(i as u8))
}

#[test]
fn blocks_are_aligned_distinct_and_kept_through_alloc_free_and_realloc() {
    let pool = Pool::new(System);
    let mut rng = lcg(0x5eed);
    let mut live: Vec<Live> = Vec::new();
    for step in 0..40_000u32 {
        let r = rng();
        match r % 8 {
            0..=3 => {
                let size = 1 + (rng() as usize % (MAX_SMALL * 2 + 64));
                // 1 to 1024: past 512 a layout is served by talc however small it is.
                let align = 1usize << (rng() % 11);
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size.
                let ptr = unsafe { pool.alloc(layout) };
                assert!(!ptr.is_null(), "step {step}");
                assert_eq!(
                    ptr as usize % align,
                    0,
                    "step {step}: {layout:?} misaligned"
                );
                let b = Live {
                    ptr,
                    layout,
                    seed: step as u8,
                };
                fill(&b);
                live.push(b);
            }
            4 | 5 if !live.is_empty() => {
                let b = live.swap_remove(rng() as usize % live.len());
                assert!(
                    intact(&b, b.layout.size()),
                    "step {step}: {:?} overwritten",
                    b.layout
                );
                // SAFETY: served by this pool for this layout, freed once.
                unsafe { pool.dealloc(b.ptr, b.layout) };
            }
            6 | 7 if !live.is_empty() => {
                let i = rng() as usize % live.len();
                let old = &live[i];
                let new_size = 1 + (rng() as usize % (MAX_SMALL * 2 + 64));
                assert!(
                    intact(old, old.layout.size()),
                    "step {step}: overwritten before realloc"
                );
                // SAFETY: served by this pool for this layout; a non-zero new size.
                let ptr = unsafe { pool.realloc(old.ptr, old.layout, new_size) };
                assert!(!ptr.is_null());
                let layout = Layout::from_size_align(new_size, old.layout.align()).unwrap();
                assert_eq!(
                    ptr as usize % layout.align(),
                    0,
                    "step {step}: realloc misaligned"
                );
                let moved = Live {
                    ptr,
                    layout,
                    seed: old.seed,
                };
                assert!(
                    intact(&moved, old.layout.size().min(new_size)),
                    "step {step}: contents lost in realloc {:?} -> {new_size}",
                    old.layout
                );
                live[i] = Live {
                    seed: step as u8,
                    ..moved
                };
                fill(&live[i]);
            }
            _ => {}
        }
        if step % 997 == 0 {
            for b in &live {
                assert!(
                    intact(b, b.layout.size()),
                    "step {step}: a live block was overwritten"
                );
            }
        }
    }
    for b in live {
        assert!(intact(&b, b.layout.size()));
        // SAFETY: as above.
        unsafe { pool.dealloc(b.ptr, b.layout) };
    }
}

#[test]
fn a_recycled_block_is_zeroed_when_zeroed_memory_is_asked_for() {
    let pool = Pool::new(System);
    let layout = Layout::from_size_align(40, 8).unwrap();
    // SAFETY: a non-zero size; each block freed once with its layout.
    unsafe {
        let p = pool.alloc(layout);
        p.write_bytes(0xAB, 40);
        pool.dealloc(p, layout);
        let q = pool.alloc_zeroed(layout);
        assert_eq!(p, q, "the same block comes back");
        assert!((0..40).all(|i| q.add(i).read() == 0));
        pool.dealloc(q, layout);
    }
}

#[test]
fn a_freed_small_block_is_served_again_for_its_size_class() {
    let pool = Pool::new(System);
    let a = Layout::from_size_align(24, 8).unwrap();
    // Another layout of the same class (32 bytes).
    let b = Layout::from_size_align(32, 4).unwrap();
    // SAFETY: non-zero sizes; each block freed once with its own layout.
    unsafe {
        let p = pool.alloc(a);
        pool.dealloc(p, a);
        let q = pool.alloc(b);
        assert_eq!(p, q, "the free list hands the block back");
        pool.dealloc(q, b);
        let big = Layout::from_size_align(MAX_SMALL + 1, 8).unwrap();
        let r = pool.alloc(big);
        assert_ne!(r, p);
        pool.dealloc(r, big);
    }
}

/// The system allocator, counting the requests it is given, and refusing those of more than
/// `limit` bytes.
struct Counting {
    calls: Cell<usize>,
    limit: usize,
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.calls.set(self.calls.get() + 1);
        if layout.size() > self.limit {
            return std::ptr::null_mut();
        }
        // SAFETY: as the caller promises.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller promises.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[test]
fn small_blocks_come_a_chunk_at_a_time_and_one_by_one_when_no_chunk_can_be_had() {
    for (limit, per_call) in [(usize::MAX, CHUNK / 32), (32, 1)] {
        let pool = Pool::new(Counting {
            calls: Cell::new(0),
            limit,
        });
        // Blocks of 32 bytes, never freed (a few KB the test leaves behind).
        let layout = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: a non-zero size.
        let blocks: Vec<usize> = (0..3 * per_call)
            .map(|_| unsafe { pool.alloc(layout) } as usize)
            .collect();
        assert!(blocks.iter().all(|&b| b != 0 && b % 32 == 0));
        let mut sorted = blocks.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), blocks.len(), "each block served once");
        if per_call > 1 {
            // A chunk's blocks are served in address order, one after another.
            assert!(blocks[..per_call].windows(2).all(|w| w[1] == w[0] + 32));
        }
        let calls = pool.inner().calls.get();
        // With chunks: one call per chunk. Without: the chunk asked for, then the block alone.
        assert_eq!(calls, if per_call > 1 { 3 } else { 3 * 2 }, "limit {limit}");
    }
}

/// The MMIX LCG, as `crate::lcg` in the library's own tests.
fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    }
}

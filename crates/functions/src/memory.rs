//! Each instance's heap, counted against the function's memory limit.
//!
//! Counting here rather than with QuickJS's own limit tells a limit hit
//! apart from anything else the code throws: when memory runs out QuickJS
//! may not even manage to allocate its "out of memory" error.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

use rquickjs::allocator::{Allocator, RustAllocator};

pub(crate) struct Budget {
    used: usize,
    limit: usize,
    /// Set when an allocation was refused; read by the instance.
    hit: Rc<Cell<bool>>,
}

/// The size actually allocated for `size`: rounded up like malloc's bins, so
/// QuickJS (which asks how much it got) grows strings and arrays in place
/// instead of reallocating on every append.
fn bucket(size: usize) -> usize {
    match size {
        0..=16 => 16,
        17..=4096 => size.next_power_of_two(),
        _ => size.div_ceil(4096).saturating_mul(4096),
    }
}

impl Budget {
    pub(crate) fn new(limit: usize, hit: Rc<Cell<bool>>) -> Self {
        Self { used: 0, limit, hit }
    }

    fn admit(&mut self, more: usize) -> bool {
        if self.used.saturating_add(more) > self.limit {
            self.hit.set(true);
            return false;
        }
        true
    }
}

// SAFETY: every pointer handed out comes from `RustAllocator` and goes back
// to it; the counts only decide whether to ask it.
unsafe impl Allocator for Budget {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        let size = bucket(size);
        if !self.admit(size) {
            return ptr::null_mut();
        }
        let p = RustAllocator.alloc(size);
        if !p.is_null() {
            self.used += unsafe { RustAllocator::usable_size(p) };
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            self.hit.set(true);
            return ptr::null_mut();
        };
        let total = bucket(total);
        if !self.admit(total) {
            return ptr::null_mut();
        }
        let p = RustAllocator.calloc(total, 1);
        if !p.is_null() {
            self.used += unsafe { RustAllocator::usable_size(p) };
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        unsafe {
            self.used = self.used.saturating_sub(RustAllocator::usable_size(ptr));
            RustAllocator.dealloc(ptr);
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        unsafe {
            if new_size == 0 {
                self.dealloc(ptr);
                return ptr::null_mut();
            }
            let old = RustAllocator::usable_size(ptr);
            // Shrinking, or growing within what it has: nothing to do.
            if new_size <= old && new_size > old / 4 {
                return ptr;
            }
            let new_size = bucket(new_size);
            if new_size > old && !self.admit(new_size - old) {
                return ptr::null_mut();
            }
            let p = RustAllocator.realloc(ptr, new_size);
            if !p.is_null() {
                self.used = self.used.saturating_sub(old) + RustAllocator::usable_size(p);
            }
            p
        }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

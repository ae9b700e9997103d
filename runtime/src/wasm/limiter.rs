//! The memory cap of one component instance.

use wasmtime::ResourceLimiter;

/// Refuses memory growth past `limit` bytes and remembers that it did, so the error can
/// say so instead of showing the guest's allocation failure.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    refused: Option<usize>,
}

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes of linear memory per memory.
    pub fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            refused: None,
        }
    }

    /// The size a refused growth asked for, if any.
    pub fn refused(&self) -> Option<usize> {
        self.refused
    }

    /// The cap in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

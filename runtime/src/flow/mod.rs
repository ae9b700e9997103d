//! The flow engine: one entity flow from home to store, and re-chunking between them.

mod engine;
mod interrupt;
mod rechunk;

pub use engine::{FlowJob, RetryPolicy, run_flow};
pub use interrupt::{Interrupt, InterruptTrigger};
pub use rechunk::Rechunker;

#[cfg(test)]
mod tests;

//! The project model: hygge.yml, flows/<flow>/flow.yml and flows/<flow>/entities/*.yml,
//! compatible with Python hygge projects.
//!
//! Raw YAML is read into layers (one per file or `defaults` block), every key is checked,
//! `${VAR}` is expanded, the layers are merged by precedence (entity > flow `defaults` >
//! flow > project `defaults`; `--var` above all), `{entity}`/`{flow}` are templated, and
//! each home and store config is validated by its own connector. The result is one
//! [`ResolvedEntity`] per (flow, entity), or [`Diagnostics`] listing every problem.

pub(crate) mod diagnostics;
mod discover;
mod env;
mod layers;
mod load;
mod model;
mod overlap;
mod project;
mod resolve;
mod source;

pub use diagnostics::{Diagnostic, Diagnostics, Location, did_you_mean};
pub use discover::{PROJECT_FILE, find_project_file};
pub use env::Environment;
pub use load::{LoadOptions, load_project};
pub use model::{ProjectOptions, WatermarkConfig, one_or_many};
pub use overlap::{Overlap, check_overlaps, find_overlaps};
pub use project::{Flow, Project, ResolvedEntity, SelectionError};
pub use resolve::DEFAULT_QUEUE_SIZE;

#[cfg(test)]
mod tests;

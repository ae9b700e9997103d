//! A run never writes where it reads: a store that overlaps a home of any entity flow of
//! the run, or two entity flows writing one destination, is refused before any data moves.
//!
//! Without this, a store path equal to its home's replaced the source with the output, a
//! store inside a recursive home re-read its own output on every run, and of two flows
//! writing one folder the last silently won.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::project::ResolvedEntity;

/// One overlapping pair of places.
#[derive(Debug, Clone)]
pub struct Overlap {
    /// Whether both entity flows belong to one flow, which always runs them together.
    pub same_flow: bool,
    /// What overlaps what, naming both entity flows and both places.
    pub problem: Diagnostic,
}

/// Checks the entity flows that run together.
///
/// # Errors
/// One problem per overlapping pair, naming both entity flows and both places.
pub fn check_overlaps(entities: &[&ResolvedEntity]) -> Result<(), Diagnostics> {
    let mut problems = Diagnostics::default();
    for overlap in find_overlaps(entities) {
        problems.push(overlap.problem);
    }
    problems.into_result(())
}

/// Every overlapping pair among `entities`, as if they ran together.
pub fn find_overlaps(entities: &[&ResolvedEntity]) -> Vec<Overlap> {
    let mut problems = Vec::new();
    for writer in entities {
        let Some(store) = writer.store.place() else {
            continue;
        };
        for reader in entities {
            let Some(home) = reader.home.place() else {
                continue;
            };
            if store.overlaps(&home) {
                let whose = if reader.qualified_name() == writer.qualified_name() {
                    "its own home".to_string()
                } else {
                    format!("the home of `{}`", reader.qualified_name())
                };
                problems.push(Overlap {
                    same_flow: reader.flow == writer.flow,
                    problem: Diagnostic::new(format!(
                        "the store of `{}` ({store}) overlaps {whose} ({home}): the run would \
                         overwrite or re-read its own source",
                        writer.qualified_name()
                    ))
                    .key("store.path")
                    .hint("give the store a path that is neither a home path, nor inside one, nor holds one"),
                });
            }
        }
    }
    for (i, first) in entities.iter().enumerate() {
        let Some(a) = first.store.place() else {
            continue;
        };
        for second in &entities[i + 1..] {
            let Some(b) = second.store.place() else {
                continue;
            };
            if a.overlaps(&b) {
                problems.push(Overlap {
                    same_flow: first.flow == second.flow,
                    problem: Diagnostic::new(format!(
                        "`{}` ({a}) and `{}` ({b}) write one destination: the last to \
                         publish would silently replace the other",
                        first.qualified_name(),
                        second.qualified_name()
                    ))
                    .key("store.path")
                    .hint("give each entity flow its own destination, e.g. with `{entity}` in the store path"),
                });
            }
        }
    }
    problems
}

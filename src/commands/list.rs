//! `hygge list flows | entities`.

use anyhow::{Result, anyhow};

use super::load;
use crate::cli::{ListArgs, ListWhat};

/// Prints the flows or entities, one per line.
pub fn run(project_dir: Option<&std::path::Path>, args: ListArgs) -> Result<()> {
    let Some(what) = args.what else {
        return Err(anyhow!(
            "say what to list: `hygge list flows` (with entity counts) or `hygge list entities` (as flow.entity)"
        ));
    };
    let project = load(project_dir, Vec::new(), None)?;
    if let Some(flow) = &args.flow {
        project
            .select(std::slice::from_ref(flow), &[])
            .map_err(|e| anyhow!("{e}"))?;
    }
    let flows = project
        .flows
        .iter()
        .filter(|f| args.flow.as_ref().is_none_or(|n| n == &f.name));
    match what {
        ListWhat::Flows => {
            for flow in flows {
                println!("{} ({} entities)", flow.name, flow.entities.len());
            }
        }
        ListWhat::Entities => {
            for entity in flows.flat_map(|f| f.entities.iter()) {
                println!("{}", entity.qualified_name());
            }
        }
    }
    Ok(())
}

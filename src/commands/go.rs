//! `hygge go`: run the selected entity flows and print the summary.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use hygge_runtime::contract::RunType;
use hygge_runtime::coordinator::{RunOptions, default_concurrency, run_all};
use hygge_runtime::events::{EventSink, NoEvents};
use hygge_runtime::flow::{FlowJob, RetryPolicy};
use hygge_runtime::run_id::new_run_id;

use super::{load, relative};
use crate::cli::GoArgs;
use crate::logging::Output;
use crate::render::{progress::LiveProgress, summary};

/// Runs the flows; `Ok(false)` when any flow failed.
pub async fn run(
    project_dir: Option<&std::path::Path>,
    args: GoArgs,
    output: &Output,
) -> Result<bool> {
    let run_type = match (args.incremental, args.full_drop) {
        (true, _) => Some(RunType::Incremental),
        (_, true) => Some(RunType::FullDrop),
        _ => None,
    };
    let project = load(project_dir, args.vars.clone(), run_type)?;
    let selected = project
        .select(&args.flow, &args.entity)
        .map_err(|e| anyhow!("{e}"))?;
    if selected.is_empty() {
        return Err(anyhow!(
            "the project has no flows; add one under {}/",
            project.root.join("flows").display()
        ));
    }
    if args.dry_run {
        for e in &selected {
            println!(
                "{}: {} -> {} [{}]",
                e.qualified_name(),
                relative(&e.home.describe(), &project.root),
                relative(&e.store.describe(), &project.root),
                e.run_type
            );
        }
        println!(
            "dry run: {} entity flow(s) validated; no data moved",
            selected.len()
        );
        return Ok(true);
    }
    let concurrency = args
        .concurrency
        .map(usize::from)
        .or(project.options.concurrency)
        .unwrap_or_else(default_concurrency);
    let options = RunOptions {
        concurrency,
        continue_on_error: project.options.continue_on_error,
        retry: RetryPolicy::default(),
    };
    let jobs: Vec<FlowJob> = selected.iter().map(|e| e.job()).collect();
    let events: Arc<dyn EventSink> = match &output.progress {
        Some(multi) if !args.json && std::io::stderr().is_terminal() => {
            Arc::new(LiveProgress::new(multi.clone()))
        }
        _ => Arc::new(NoEvents),
    };
    let run_id = new_run_id();
    tracing::info!(project = %project.name, run_id = %run_id, flows = jobs.len(), concurrency, "run started");
    let summary = run_all(jobs, &run_id, options, events).await;
    if args.json {
        println!("{}", summary::json(&summary));
    } else {
        print!("{}", summary::table(&summary));
    }
    Ok(summary.succeeded())
}

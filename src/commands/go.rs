//! `hygge go`: run the selected entity flows and print the summary.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::{Result, anyhow};
use hygge_runtime::config::{Diagnostics, ResolvedEntity, check_overlaps};
use hygge_runtime::contract::ErrorKind;
use hygge_runtime::contract::{RunScope, RunType};
use hygge_runtime::coordinator::{RunOptions, default_concurrency, run_all};
use hygge_runtime::events::{EventSink, NoEvents};
use hygge_runtime::flow::{FlowJob, Interrupt, InterruptTrigger, RetryPolicy};
use hygge_runtime::run_id::new_run_id;
use hygge_runtime::state::IncrementalPlan;
use tokio::signal::unix::{SignalKind, signal};

use super::{load, relative};
use crate::cli::GoArgs;
use crate::logging::Output;
use crate::render::{progress::LiveProgress, summary};

/// Runs the flows: exit code 0 when every flow succeeded, 1 when one failed, 130 or 143
/// when SIGINT or SIGTERM stopped the run. With `--json`, a problem that stops the run
/// before it starts (configuration, selection, overlaps, a dry run's checks) is printed as
/// a JSON object too, and the exit code stays non-zero.
pub async fn run(project_dir: Option<&Path>, args: GoArgs, output: &Output) -> Result<ExitCode> {
    let json = args.json;
    match run_checked(project_dir, args, output).await {
        Err(error) if json => {
            println!("{}", problems_json(&error));
            Ok(ExitCode::FAILURE)
        }
        other => other,
    }
}

/// Fires `trigger` on the first SIGINT or SIGTERM and records its exit code (130 or 143);
/// a second signal exits at once.
fn watch_signals(trigger: InterruptTrigger, code: Arc<AtomicU8>) -> Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = interrupt.recv() => 130,
            _ = terminate.recv() => 143,
        };
        code.store(first, Ordering::SeqCst);
        eprintln!("\ninterrupted: aborting the running flows (press Ctrl-C again to exit at once)");
        trigger.fire();
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("interrupted twice: exiting now; the next run removes any staging left behind");
        std::process::exit(i32::from(first));
    });
    Ok(())
}

/// `{"ok": false, "problems": [...]}`: each configuration problem with its file, line and
/// key, or the one error's message.
fn problems_json(error: &anyhow::Error) -> serde_json::Value {
    let problems: Vec<serde_json::Value> = match error.downcast_ref::<Diagnostics>() {
        Some(found) => found.iter().map(|d| d.to_json()).collect(),
        None => vec![serde_json::json!({ "message": format!("{error:#}") })],
    };
    serde_json::json!({ "ok": false, "problems": problems })
}

async fn run_checked(
    project_dir: Option<&Path>,
    args: GoArgs,
    output: &Output,
) -> Result<ExitCode> {
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
    check_overlaps(&selected)?;
    if args.dry_run {
        return dry_run(&selected, &project.root, args.json)
            .await
            .map(crate::exit_code);
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
    let (trigger, interrupt) = Interrupt::new();
    let signal_code = Arc::new(AtomicU8::new(0));
    watch_signals(trigger, signal_code.clone())?;
    let summary = run_all(jobs, &run_id, options, events, interrupt).await;
    if args.json {
        println!("{}", summary::json(&summary));
    } else {
        // On a terminal the last progress line may not end in a newline.
        if std::io::stdout().is_terminal() {
            println!();
        }
        print!("{}", summary::table(&summary));
    }
    let code = signal_code.load(Ordering::SeqCst);
    if code != 0 {
        let stopped: Vec<String> = summary
            .flows
            .iter()
            .filter(|f| {
                f.error
                    .as_ref()
                    .is_some_and(|e| e.kind == ErrorKind::Interrupted)
            })
            .map(|f| format!("{}.{}", f.flow, f.entity))
            .collect();
        eprintln!(
            "interrupted: {} (their stores were aborted; destinations unchanged)",
            if stopped.is_empty() {
                "no flow was running".to_string()
            } else {
                stopped.join(", ")
            }
        );
        return Ok(ExitCode::from(code));
    }
    Ok(crate::exit_code(summary.succeeded()))
}

/// Validates without moving data: the plan, and the checks `go` would fail on at once (a
/// missing home path); `Ok(false)` when one fails.
async fn dry_run(selected: &[&ResolvedEntity], root: &Path, json: bool) -> Result<bool> {
    let mut problems = Vec::new();
    let mut plan = Vec::new();
    let scope = RunScope::new(1);
    for e in selected {
        let home = relative(&e.home.describe(), root);
        let store = relative(&e.store.describe(), root);
        let reads = match watermark_plan(e, &scope).await {
            Ok(reads) => reads,
            Err(problem) => {
                problems.push(format!("{}: {problem}", e.qualified_name()));
                None
            }
        };
        if !json {
            println!("{}: {home} -> {store} [{}]", e.qualified_name(), e.run_type);
            if let Some(reads) = &reads {
                println!("  reads {reads}");
            }
        }
        plan.push(serde_json::json!({
            "flow": e.flow, "entity": e.entity, "home": home, "store": store,
            "run_type": e.run_type.to_string(), "reads": reads,
        }));
        for problem in e.home.preflight() {
            problems.push(format!(
                "{}: home: {}",
                e.qualified_name(),
                relative(&problem, root)
            ));
        }
    }
    if json {
        let problems: Vec<_> = problems
            .iter()
            .map(|p| serde_json::json!({ "message": p }))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "ok": problems.is_empty(), "dry_run": true, "entities": plan, "problems": problems })
        );
        return Ok(problems.is_empty());
    }
    if !problems.is_empty() {
        return Err(anyhow!(
            "dry run: {} check(s) failed:\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        ));
    }
    println!(
        "dry run: {} entity flow(s) validated; no data moved",
        selected.len()
    );
    Ok(true)
}

/// What an incremental entity's next run reads, from the state its store holds now.
async fn watermark_plan(
    entity: &ResolvedEntity,
    scope: &RunScope,
) -> Result<Option<String>, String> {
    let Some(spec) = &entity.watermark else {
        return Ok(None);
    };
    let store = entity.store.state(scope).ok_or_else(|| {
        format!(
            "the store {} keeps no watermark state",
            entity.store.describe()
        )
    })?;
    let previous = store
        .read(&entity.flow, &entity.entity)
        .await
        .map_err(|e| format!("cannot read its watermark state: {e}"))?;
    let plan =
        IncrementalPlan::new(spec.clone(), previous, entity.run_type).map_err(|e| e.to_string())?;
    Ok(Some(plan.describe()))
}

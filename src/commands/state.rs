//! `hygge state` and `hygge reset`: the watermark state each incremental entity's store
//! keeps beside its data.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use hygge_runtime::config::{Project, ResolvedEntity};
use hygge_runtime::contract::RunScope;
use hygge_runtime::run_id::new_run_id;
use hygge_runtime::state::{EntityState, StateStore};

use super::load;
use crate::cli::{ResetArgs, StateArgs};

/// The entities with a `watermark` that `--flow` and `--entity` select.
fn incremental_entities<'p>(
    project: &'p Project,
    flow: Option<&str>,
    entity: Option<&str>,
) -> Result<Vec<&'p ResolvedEntity>> {
    let flows: Vec<String> = flow.map(str::to_string).into_iter().collect();
    let entities: Vec<String> = match (flow, entity) {
        (_, None) => Vec::new(),
        (_, Some(e)) if e.contains('.') => vec![e.to_string()],
        (Some(f), Some(e)) => vec![format!("{f}.{e}")],
        (None, Some(e)) => {
            let matching: Vec<String> = project
                .entities()
                .filter(|r| r.entity == e)
                .map(|r| r.qualified_name())
                .collect();
            if matching.is_empty() {
                bail!("no entity is named `{e}`; see `hygge list entities`");
            }
            matching
        }
    };
    let selected = project
        .select(&flows, &entities)
        .map_err(|e| anyhow!("{e}"))?;
    Ok(selected
        .into_iter()
        .filter(|e| e.watermark.is_some())
        .collect())
}

/// The state store of `entity`'s store, or why it has none.
fn state_store(entity: &ResolvedEntity, scope: &RunScope) -> Result<Box<dyn StateStore>> {
    entity.store.state(scope).ok_or_else(|| {
        anyhow!(
            "{}: the store {} keeps no watermark state",
            entity.qualified_name(),
            entity.store.describe()
        )
    })
}

/// One row of `hygge state`.
struct Row {
    flow: String,
    entity: String,
    column: String,
    state: Option<EntityState>,
    location: String,
}

/// Prints each selected incremental entity's committed watermark.
pub async fn show(project_dir: Option<&Path>, args: StateArgs) -> Result<ExitCode> {
    let project = load(project_dir, Vec::new(), None)?;
    let selected = incremental_entities(&project, args.flow.as_deref(), args.entity.as_deref())?;
    let scope = RunScope::new(1);
    let mut rows = Vec::new();
    for entity in &selected {
        let store = state_store(entity, &scope)?;
        let state = store
            .read(&entity.flow, &entity.entity)
            .await
            .map_err(|e| anyhow!("{}: cannot read its state: {e}", entity.qualified_name()))?;
        rows.push(Row {
            flow: entity.flow.clone(),
            entity: entity.entity.clone(),
            column: entity
                .watermark
                .as_ref()
                .map(|w| w.column.clone())
                .unwrap_or_default(),
            state,
            location: store.location(),
        });
    }
    if args.json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let s = r.state.as_ref();
                serde_json::json!({
                    "flow": r.flow,
                    "entity": r.entity,
                    "column": s.map_or(r.column.as_str(), |s| s.column.as_str()),
                    "watermark": s.and_then(|s| s.watermark.clone()),
                    "run_id": s.map(|s| s.run_id.clone()),
                    "committed_at": s.map(|s| s.committed_at.clone()),
                    "location": r.location,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no incremental entities (none has a `watermark`) in this selection");
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        let name = format!("{}.{}", r.flow, r.entity);
        match &r.state {
            None => println!(
                "{name}: no watermark yet ({}); the next run loads from `initial`, or everything",
                r.column
            ),
            Some(s) if s.is_reset() => println!(
                "{name}: reset by {} at {}; the next run reloads everything",
                s.run_id, s.committed_at
            ),
            Some(s) => println!(
                "{name}: {} = {} (run {}, committed {})",
                s.column,
                s.watermark.as_deref().unwrap_or_default(),
                s.run_id,
                s.committed_at
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Forgets the watermarks of the selected entities, after asking on a terminal.
pub async fn reset(project_dir: Option<&Path>, args: ResetArgs) -> Result<ExitCode> {
    let project = load(project_dir, Vec::new(), None)?;
    let selected = incremental_entities(&project, Some(&args.flow), args.entity.as_deref())?;
    if selected.is_empty() {
        bail!(
            "flow `{}` has no incremental entity (none has a `watermark`) to reset",
            args.flow
        );
    }
    let names: Vec<String> = selected.iter().map(|e| e.qualified_name()).collect();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "hygge reset asks before it forgets watermarks, and this is not a terminal; \
                 add --yes to reset {}",
                names.join(", ")
            );
        }
        eprint!(
            "Forget the watermark of {}? Their next run reloads everything and replaces the destination. [y/N] ",
            names.join(", ")
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            eprintln!("nothing was reset");
            return Ok(ExitCode::FAILURE);
        }
    }
    let scope = RunScope::new(1);
    let run_id = new_run_id();
    for entity in selected {
        let store = state_store(entity, &scope)?;
        let had = store
            .reset(&entity.flow, &entity.entity, &run_id)
            .await
            .map_err(|e| anyhow!("{}: cannot reset its state: {e}", entity.qualified_name()))?;
        let before = if had {
            "watermark forgotten"
        } else {
            "had no watermark"
        };
        println!(
            "{}: {before}; the next run reloads everything and replaces the destination",
            entity.qualified_name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! What the user typed: the clap definitions, checked only. Commands resolve them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hygge moves data from a home to a store, as configured in a YAML project.
#[derive(Debug, Parser)]
#[command(name = "hygge", version, about, propagate_version = true)]
pub struct Cli {
    /// The project folder (or its hygge.yml); default: the nearest hygge.yml upwards.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less log output (-q warnings only, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// hygge's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a runnable project with a small sample dataset.
    Init(InitArgs),
    /// Run flows: move data from each entity's home to its store.
    Go(GoArgs),
    /// Validate the project and show every entity's resolved config and environment checks.
    Debug,
    /// List flows or entities.
    List(ListArgs),
    /// Show each incremental entity's committed watermark, the run that committed it and when.
    State(StateArgs),
    /// Forget entities' watermarks: their next run reloads everything and replaces the destination.
    Reset(ResetArgs),
    /// Work with Wasm components.
    #[command(subcommand)]
    Component(ComponentCommand),
}

/// `hygge component …`.
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Show what a component says about itself, its world, and the capabilities it imports.
    Inspect {
        /// The `.wasm` file.
        file: PathBuf,
    },
    /// Create a Rust component crate that builds into a `.wasm` hygge loads.
    New {
        /// The folder to create; its name (lowercase letters, digits, `_`) names the component.
        path: PathBuf,
        /// What to start from: `rows` (a home that makes up rows) or `rest` (a home that
        /// reads a JSON API over HTTP).
        #[arg(long, value_enum, default_value = "rows")]
        kind: crate::commands::component::ScaffoldKind,
    },
}

/// `hygge init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project folder to create.
    pub name: PathBuf,
    /// Where flows live inside the project.
    #[arg(long, default_value = "flows", value_name = "DIR")]
    pub flows_dir: String,
    /// Write into an existing folder, overwriting the files init creates.
    #[arg(long)]
    pub force: bool,
}

/// `hygge go`.
#[derive(Debug, Args)]
pub struct GoArgs {
    /// Only these flows (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FLOW,…")]
    pub flow: Vec<String>,
    /// Only these entities, as flow.entity (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FLOW.ENTITY,…")]
    pub entity: Vec<String>,
    /// Run every selected flow as incremental.
    #[arg(long, conflicts_with = "full_drop")]
    pub incremental: bool,
    /// Run every selected flow as full drop.
    #[arg(long)]
    pub full_drop: bool,
    /// Entity flows running at once (default: hygge.yml options, else the CPU count, at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: Option<u16>,
    /// Resolve and validate everything, print the plan, move no data.
    #[arg(long)]
    pub dry_run: bool,
    /// Override a setting: flow.<flow>.<dotted.key>=value (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hygge list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list: `flows` or `entities`.
    pub what: Option<ListWhat>,
    /// Only entities of this flow.
    #[arg(long)]
    pub flow: Option<String>,
}

/// Things `hygge list` lists.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListWhat {
    /// The flows, with their entity counts.
    Flows,
    /// The entities, as flow.entity.
    Entities,
}

/// `hygge state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Only entities of this flow.
    #[arg(long, value_name = "FLOW")]
    pub flow: Option<String>,
    /// Only this entity (its name, or flow.entity).
    #[arg(long, value_name = "ENTITY")]
    pub entity: Option<String>,
    /// Print a JSON list of {flow, entity, column, watermark, run_id, committed_at}.
    #[arg(long)]
    pub json: bool,
}

/// `hygge reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The flow whose watermarks to forget.
    #[arg(long, value_name = "FLOW")]
    pub flow: String,
    /// Only this entity of the flow.
    #[arg(long, value_name = "ENTITY")]
    pub entity: Option<String>,
    /// Do not ask (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,
}

//! The `hygge` command: parse arguments, call the runtime, render results.

mod cli;
mod commands;
mod logging;
mod render;
mod sample;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// jemalloc, not glibc's malloc: with glibc, peak memory grew with the input (208 MiB for
/// 10M rows, 493 MiB for 100M, Parquet to Parquet) as its per-thread arenas and its rising
/// mmap threshold kept freed buffers; with jemalloc it stays near 300 MiB whatever the input
/// size, at the same speed (BENCHMARKS.md, "Memory as the input grows").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// 0 when everything succeeded, else 1.
fn exit_code(succeeded: bool) -> ExitCode {
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The async runtime commands that touch connectors run on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = logging::init(cli.verbose, cli.quiet);
    let project = cli.project.as_deref();
    let result = match cli.command {
        Command::Init(args) => commands::init::run(args).map(|()| ExitCode::SUCCESS),
        Command::List(args) => commands::list::run(project, args).map(|()| ExitCode::SUCCESS),
        Command::Debug => commands::debug::run(project).map(exit_code),
        Command::Component(command) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(commands::component::run(command)))
            .map(exit_code),
        Command::State(args) => {
            runtime().and_then(|rt| rt.block_on(commands::state::show(project, args)))
        }
        Command::Reset(args) => {
            runtime().and_then(|rt| rt.block_on(commands::state::reset(project, args)))
        }
        Command::Go(args) => {
            if let Some(level) = commands::project_log_level(project) {
                output.set_project_level(Some(&level));
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(commands::go::run(project, args, &output)))
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            if let Some(multi) = &output.progress {
                let _ = multi.clear();
            }
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

//! One module per command; each resolves its arguments and calls the runtime.

pub mod component;
pub mod debug;
pub mod go;
pub mod init;
pub mod list;
pub mod state;

use std::path::Path;

use anyhow::Result;
use hygge_runtime::config::{LoadOptions, Project, load_project};
use hygge_runtime::contract::RunType;

/// Loads the project for a command, turning configuration problems into one error.
pub fn load(
    project: Option<&Path>,
    vars: Vec<String>,
    run_type: Option<RunType>,
) -> Result<Project> {
    let options = LoadOptions {
        project: project.map(Path::to_path_buf),
        cwd: std::env::current_dir()?,
        vars,
        run_type,
    };
    let project = load_project(&hygge_native_connectors::registry(), &options)
        .map_err(anyhow::Error::from)?;
    for warning in &project.warnings {
        tracing::warn!("{warning}");
    }
    Ok(project)
}

/// A path shown relative to the project folder when it lies inside it.
pub fn relative(text: &str, root: &Path) -> String {
    text.replace(&format!("{}/", root.display()), "")
}

/// hygge.yml `options.log_level`, read early so that loading itself logs at that level.
pub fn project_log_level(project: Option<&Path>) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let file = hygge_runtime::config::find_project_file(project, &cwd).ok()?;
    let value: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    value
        .get("options")?
        .get("log_level")?
        .as_str()
        .map(str::to_string)
}

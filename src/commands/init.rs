//! `hygge init NAME`: a runnable project with a small sample dataset.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::InitArgs;
use crate::sample;

/// The project files `init` writes, relative to the project folder.
pub fn project_files(name: &str, flows_dir: &str) -> Vec<(PathBuf, String)> {
    let flow = Path::new(flows_dir).join("shop");
    vec![
        (
            "hygge.yml".into(),
            format!(
                "# hygge project: run `hygge go` here, or `hygge go --project <this folder>`.\n\
                 name: {name}\n\
                 flows_dir: {flows_dir}\n\
                 \n\
                 options:\n  continue_on_error: false\n  log_level: info\n"
            ),
        ),
        (
            flow.join("flow.yml"),
            "# The shop flow: every entity under entities/ moves from data/source/<entity>\n\
             # to data/lake/<entity> as Parquet.\n\
             home:\n  type: parquet\n  path: data/source\n\
             store:\n  type: parquet\n  path: data/lake\n  compression: zstd\n\
             run_type: full_drop\n\
             \n\
             # Settings every entity of this flow starts from (an entity's own file wins).\n\
             defaults:\n  queue_size: 8\n"
                .to_string(),
        ),
        (flow.join("entities/customers.yml"), "name: customers\n".to_string()),
        (
            flow.join("entities/orders.yml"),
            "name: orders\n# Only these columns are read from the home.\ncolumns:\n  - order_id\n  - customer_id\n  - ordered_at\n  - amount\n  - status\n"
                .to_string(),
        ),
        (".gitignore".into(), "data/lake/\n.env\n".to_string()),
    ]
}

/// Creates the project.
pub fn run(args: InitArgs) -> Result<()> {
    let root = &args.name;
    if root.exists() && !args.force {
        bail!(
            "{} already exists; nothing was changed\n    hint: choose another name, or pass --force to write the sample files into it",
            root.display()
        );
    }
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("the project name must end in a folder name")?;
    let mut created = Vec::new();
    for (path, content) in project_files(&name, &args.flows_dir) {
        let full = root.join(&path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&full, content)
            .with_context(|| format!("cannot write {}", full.display()))?;
        created.push(full);
    }
    for (entity, batch) in [
        ("customers", sample::customers()?),
        ("orders", sample::orders()?),
    ] {
        let path = root
            .join("data/source")
            .join(entity)
            .join(format!("{entity}.parquet"));
        sample::write_parquet(&path, &batch)?;
        created.push(path);
    }
    println!("created project `{name}`:");
    for path in &created {
        println!("  {}", path.display());
    }
    println!(
        "\nnext steps:\n  cd {}\n  hygge go          # moves data/source/* to data/lake/*\n  hygge debug       # shows every entity's resolved config",
        root.display()
    );
    Ok(())
}

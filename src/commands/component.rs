//! `hygge component inspect`.

use anyhow::{Context, Result, anyhow};
use hygge_runtime::wasm::inspect;

use crate::cli::ComponentCommand;

/// Runs a component subcommand.
pub async fn run(command: ComponentCommand) -> Result<bool> {
    match command {
        ComponentCommand::Inspect { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let size = bytes.len();
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let found = inspect(&name, bytes).await.map_err(|e| anyhow!("{e}"))?;
            println!("component: {} ({} KiB)", file.display(), size >> 10);
            println!("world: {}", found.world);
            match &found.description {
                Some(d) => {
                    println!("name: {}  version: {}", d.name, d.version);
                    println!(
                        "provides: {}{}",
                        if d.provides_home { "home " } else { "" },
                        if d.provides_store { "store" } else { "" }
                    );
                    println!(
                        "asks for: {}",
                        if d.capabilities.is_empty() {
                            "nothing".into()
                        } else {
                            d.capabilities.join(", ")
                        }
                    );
                    println!(
                        "config schema: {}",
                        d.config_schema
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
                None => println!("describe(): not exported (not a hygge connector?)"),
            }
            println!("imports:");
            for import in &found.imports {
                println!("  {import}");
            }
            println!("exports:");
            for export in &found.exports {
                println!("  {export}");
            }
            Ok(found.world != "none")
        }
    }
}

//! `hygge component inspect` and `hygge component new`.

use anyhow::{Context, Result, anyhow};
use hygge_runtime::wasm::inspect;

use crate::cli::ComponentCommand;

/// The scaffold's files: (path, template). `{name}` is replaced by the component's name,
/// `{extra_dependencies}` by those of the kind. The SDK (components/sdk and components/ipc)
/// is vendored under `vendor/`, so the crate builds without the hygge repository.
const SCAFFOLD: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../scaffold/Cargo.toml.tmpl")),
    ("README.md", include_str!("../scaffold/README.md.tmpl")),
    ("wit/connector.wit", include_str!("../../wit/connector.wit")),
    (
        "vendor/hygge-component-sdk/Cargo.toml",
        include_str!("../scaffold/sdk.Cargo.toml.tmpl"),
    ),
    (
        "vendor/hygge-component-sdk/src/lib.rs",
        include_str!("../../components/sdk/src/lib.rs"),
    ),
    (
        "vendor/hygge-ipc/Cargo.toml",
        include_str!("../scaffold/ipc.Cargo.toml.tmpl"),
    ),
    (
        "vendor/hygge-ipc/src/lib.rs",
        include_str!("../../components/ipc/src/lib.rs"),
    ),
    // The versions hygge's own components build with, so a new crate starts from a known-good set.
    ("Cargo.lock", include_str!("../../components/Cargo.lock")),
    (
        ".cargo/config.toml",
        "[build]\ntarget = \"wasm32-wasip2\"\n",
    ),
    (".gitignore", "target/\n"),
];

/// What `hygge component new --kind` starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaffoldKind {
    /// A home that makes up rows: the smallest complete connector.
    Rows,
    /// A home that reads a JSON API through `wasi:http` (needs an `allow: http` grant).
    Rest,
}

impl ScaffoldKind {
    /// Its `src/lib.rs` and the dependencies it adds.
    fn source(self) -> (&'static str, &'static str) {
        match self {
            ScaffoldKind::Rows => (include_str!("../scaffold/lib.rs.tmpl"), ""),
            ScaffoldKind::Rest => (
                include_str!("../scaffold/rest_lib.rs.tmpl"),
                "arrow-json = { version = \"60.1\", default-features = false }\nwasip2 = \"1.0\"\n",
            ),
        }
    }
}

/// Creates a component crate of `kind` at `path`.
fn scaffold(path: &std::path::Path, kind: ScaffoldKind) -> Result<()> {
    if path.exists() {
        return Err(anyhow!(
            "{} already exists; nothing was changed",
            path.display()
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(anyhow!(
            "`{name}` is not a component name\n    hint: use lowercase letters, digits and `_`, starting with a letter"
        ));
    }
    let (source, extra_dependencies) = kind.source();
    for (file, template) in SCAFFOLD.iter().chain([&("src/lib.rs", source)]) {
        let target = path.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let text = if file.starts_with("vendor/") {
            template.to_string()
        } else {
            template
                .replace("{name}", &name)
                .replace("{extra_dependencies}", extra_dependencies)
        };
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write {}", target.display()))?;
        println!("  {}", target.display());
    }
    println!(
        "\ncreated component `{name}`. Build it with:\n  cd {} && cargo build --release\nthen use target/wasm32-wasip2/release/{name}.wasm as `component:` with `type: wasm`.",
        path.display()
    );
    Ok(())
}

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
                None if !found.refused.is_empty() => {
                    println!("describe(): not called; hygge will not start this component")
                }
                None => println!("describe(): not exported (not a hygge connector?)"),
            }
            for (import, what) in &found.refused {
                println!("refused: {import} (hygge grants no {what})");
            }
            if found.needs_http {
                println!(
                    "network: imports wasi:http; runs only with `allow: {{http: [ORIGIN, ...]}}` and reaches only those origins"
                );
            } else {
                println!("network: none");
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
        ComponentCommand::New { path, kind } => scaffold(&path, kind).map(|()| true),
    }
}

//! `hygge debug`: the resolved project, secrets masked, plus environment checks.

use anyhow::{Result, anyhow};
use serde_yaml::Value;

use hygge_runtime::config::find_overlaps;

use super::{load, relative};

/// Keys whose values are never printed.
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "credential",
    "api_key",
    "apikey",
];

/// Prints the project; `Ok(false)` when a check failed.
pub fn run(project_dir: Option<&std::path::Path>) -> Result<bool> {
    let project = load(project_dir, Vec::new(), None)?;
    println!("project: {} ({})", project.name, project.file.display());
    println!(
        "options: concurrency={}, continue_on_error={}",
        project
            .options
            .concurrency
            .map_or("default".to_string(), |c| c.to_string()),
        project.options.continue_on_error
    );
    let mut failed = 0;
    let registry = hygge_native_connectors::registry();
    // Connections tried once here; object-store connections name no bucket, so they are
    // tried by the first home or store that uses them, with one listing.
    let mut checked: Vec<String> = Vec::new();
    for (name, connection) in &project.connections {
        println!("connection {name}: {}", inline(&masked(connection.clone())));
        let connector = connection
            .get("type")
            .and_then(Value::as_str)
            .and_then(|t| registry.get(t));
        let answer = connector.and_then(|c| c.check_connection(name, connection, &project.root));
        if answer.is_some() {
            checked.push(name.clone());
        }
        match answer {
            Some(Ok(reached)) => println!("    ✓ {reached}"),
            Some(Err(problem)) => {
                failed += 1;
                println!("    ✗ {problem}");
            }
            None => {}
        }
    }
    for flow in &project.flows {
        println!("\nflow {}", flow.name);
        for e in &flow.entities {
            println!("  entity {}", e.entity);
            println!(
                "    run_type: {}  queue_size: {}  timeout: {}",
                e.run_type,
                e.queue_size,
                e.timeout
                    .map_or("none".to_string(), |t| format!("{}s", t.as_secs()))
            );
            if let Some(columns) = e.request.columns() {
                println!("    columns: {}", columns.join(", "));
            }
            println!(
                "    home:  {}",
                relative(&inline(&masked(e.home_config.clone())), &project.root)
            );
            println!(
                "      reads  {}",
                relative(&e.home.describe(), &project.root)
            );
            println!(
                "    store: {}",
                relative(&inline(&masked(e.store_config.clone())), &project.root)
            );
            println!(
                "      writes {}",
                relative(&e.store.describe(), &project.root)
            );
            let home_check = || e.home.check_connection();
            let store_check = || e.store.check_connection();
            let sides: [(&str, Option<String>, &dyn Fn() -> _); 2] = [
                ("home", e.home.connection_label(), &home_check),
                ("store", e.store.connection_label(), &store_check),
            ];
            for (side, label, check) in sides {
                let Some(label) = label.filter(|l| !checked.contains(l)) else {
                    continue;
                };
                checked.push(label.clone());
                match check() {
                    Some(Ok(reached)) => println!("    ✓ {side} connection {label}: {reached}"),
                    Some(Err(problem)) => {
                        failed += 1;
                        println!("    ✗ {side} connection {label}: {problem}");
                    }
                    None => {}
                }
            }
            for (side, grant, component) in [
                ("home", e.home.sandbox(), e.home.component()),
                ("store", e.store.sandbox(), e.store.component()),
            ] {
                if let Some(grant) = grant {
                    println!(
                        "    {side} sandbox: granted {}",
                        relative(&grant, &project.root)
                    );
                }
                if let Some(component) = component {
                    match asks_for(&component) {
                        Ok(asks) => println!("    {side} sandbox: asks for {asks}"),
                        Err(problem) => {
                            failed += 1;
                            println!("    ✗ {side}: {}", relative(&problem, &project.root));
                        }
                    }
                }
            }
            for problem in e.home.preflight() {
                failed += 1;
                println!("    ✗ home: {}", relative(&problem, &project.root));
            }
            for problem in e.store.preflight() {
                failed += 1;
                println!("    ✗ store: {}", relative(&problem, &project.root));
            }
        }
    }
    for warning in &project.warnings {
        println!("warning: {warning}");
    }
    // Entities of one flow always run together; flows may be run one at a time (a load
    // flow, then an unload flow of the same table), so across flows this is a warning.
    let everything: Vec<_> = project.entities().collect();
    let overlaps = find_overlaps(&everything);
    if !overlaps.is_empty() {
        println!();
    }
    for overlap in overlaps {
        let text = relative(&overlap.problem.to_string(), &project.root);
        if overlap.same_flow {
            failed += 1;
            println!("✗ {text}");
        } else {
            println!(
                "warning: {text}\n    `hygge go` refuses to run these flows together; run them one at a time with --flow"
            );
        }
    }
    if failed > 0 {
        return Err(anyhow!("{failed} environment check(s) failed; see above"));
    }
    println!("\nok: configuration valid, every check passed");
    Ok(true)
}

/// What a component's `describe()` says it needs, or why it cannot be loaded.
fn asks_for(component: &hygge_runtime::wasm::ComponentSource) -> Result<String, String> {
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(hygge_runtime::wasm::inspect_source(component))
                .map_err(|e| e.to_string())
        });
    let found =
        answer.map_err(|e| format!("component `{}` cannot be loaded: {e}", component.name()))?;
    match found.description {
        Some(d) if d.capabilities.is_empty() => Ok("nothing".into()),
        Some(d) => Ok(d.capabilities.join(", ")),
        None => Err(format!(
            "component `{}` has no describe(): it is not a hygge connector",
            component.name()
        )),
    }
}

fn inline(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The value with every secret-looking key's value replaced by `****`.
pub fn masked(value: Value) -> Value {
    match value {
        Value::Mapping(map) => Value::Mapping(
            map.into_iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(|k| {
                        let k = k.to_ascii_lowercase();
                        SECRET_WORDS.iter().any(|w| k.contains(w))
                    });
                    (
                        k,
                        if secret {
                            Value::String("****".into())
                        } else {
                            masked(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(masked).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let v: Value = serde_yaml::from_str(
            "server: db\nauth: {user: sa, password: hunter2, client_secret: s}",
        )
        .unwrap();
        let text = inline(&masked(v));
        assert!(
            !text.contains("hunter2") && !text.contains("\"s\""),
            "{text}"
        );
        assert!(text.contains("sa") && text.contains("****"), "{text}");
    }
}

//! The evil-guest suite: a hostile component (components/evil) attacks the sandbox, one
//! attack per test. Each must fail its flow with a clear, specific message, touch nothing
//! outside its grant, leave the process up, and let the other flows of the run succeed.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hygge_http_test_server::{Body, HttpServer, Response};
use hygge_native_connectors::registry;
use hygge_runtime::contract::{ConnectorConfig, ReadRequest, Role, RunType, StoreSpec};
use hygge_runtime::coordinator::{RunOptions, run_all};
use hygge_runtime::events::{FlowReport, FlowStatus, NoEvents};
use hygge_runtime::flow::{FlowJob, Interrupt, RetryPolicy};
use hygge_runtime::wasm::{ComponentSource, HttpOrigin, Permissions, WasmHomeSpec};

fn evil() -> Arc<ComponentSource> {
    let bytes = std::fs::read(env!("HYGGE_EVIL_COMPONENT")).unwrap();
    ComponentSource::new("evil", bytes)
}

/// The hostile component that opens a socket, and so imports `wasi:sockets`.
fn evil_net() -> Arc<ComponentSource> {
    let bytes = std::fs::read(env!("HYGGE_EVIL_NET_COMPONENT")).unwrap();
    ComponentSource::new("evil-net", bytes)
}

/// A native parquet store writing `out/<entity>`.
fn store(out: &Path, entity: &str) -> Arc<dyn StoreSpec> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(&format!("path: {}", out.display())).unwrap();
    let config = ConnectorConfig {
        value: &value,
        role: Role::Store,
        flow: "evil",
        entity,
        project_dir: out,
        entity_sets_path: false,
        path_names_entity: false,
        has_entities: true,
        connections: &Default::default(),
    };
    registry()
        .get("parquet")
        .unwrap()
        .store(&config)
        .unwrap()
        .unwrap()
}

/// The evil component's config for `attack`, reading the granted `/home`.
fn attack_config(attack: &str) -> serde_json::Value {
    serde_json::json!({ "attack": attack, "path": "/home" })
}

fn job(
    component: Arc<ComponentSource>,
    entity: &str,
    config: &serde_json::Value,
    home: &Path,
    out: &Path,
    permissions: Permissions,
    parts: usize,
) -> FlowJob {
    let config = config.to_string();
    let spec = WasmHomeSpec::new(
        component,
        permissions.with_read_dir(home, "/home"),
        config,
        "evil".into(),
    )
    .with_parts(parts);
    FlowJob {
        flow: "evil".into(),
        entity: entity.into(),
        home: Arc::new(spec),
        store: store(out, entity),
        request: ReadRequest::default(),
        run_type: RunType::FullDrop,
        queue_size: 2,
        timeout: None,
        allow_empty: false,
        on_schema_change: Default::default(),
        watermark: None,
    }
}

/// Runs `attack` beside a well-behaved flow; returns the attack's report.
fn attack_with(attack: &str, permissions: Permissions) -> (FlowReport, tempfile::TempDir) {
    attack_by(evil(), attack, permissions, 1)
}

/// Runs `attack` of `component`, read by `parts` instances, beside a well-behaved flow of
/// the evil component.
fn attack_by(
    component: Arc<ComponentSource>,
    attack: &str,
    permissions: Permissions,
    parts: usize,
) -> (FlowReport, tempfile::TempDir) {
    attack_configured(component, &attack_config(attack), permissions, parts)
}

/// Runs `component` with `config`, read by `parts` instances, beside a well-behaved flow of
/// the evil component.
fn attack_configured(
    component: Arc<ComponentSource>,
    config: &serde_json::Value,
    permissions: Permissions,
    parts: usize,
) -> (FlowReport, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("data.txt"), "inside the grant").unwrap();
    let out = tmp.path().join("out");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let jobs = vec![
        job(
            component,
            "attack",
            config,
            &home,
            &out,
            permissions.clone(),
            parts,
        ),
        job(
            evil(),
            "bystander",
            &attack_config("none"),
            &home,
            &out,
            permissions,
            1,
        ),
    ];
    let options = RunOptions {
        concurrency: 2,
        continue_on_error: true,
        retry: RetryPolicy {
            attempts: 1,
            base_delay: Duration::ZERO,
        },
    };
    let summary = runtime.block_on(run_all(
        jobs,
        "run-1",
        options,
        Arc::new(NoEvents),
        Interrupt::never(),
    ));
    let bystander = &summary.flows[1];
    assert_eq!(
        bystander.status,
        FlowStatus::Succeeded,
        "the other flow failed too: {:?}",
        bystander.error
    );
    assert_eq!(bystander.rows, 3);
    assert!(
        !out.join("attack").exists(),
        "the failed flow published something"
    );
    (summary.flows[0].clone(), tmp)
}

fn attack(name: &str) -> (String, tempfile::TempDir) {
    attack_in_parts(name, 1)
}

/// As [`attack`], with the component read by `parts` instances.
fn attack_in_parts(name: &str, parts: usize) -> (String, tempfile::TempDir) {
    let (report, tmp) = attack_by(evil(), name, Permissions::default(), parts);
    assert_eq!(report.status, FlowStatus::Failed, "{name} was not stopped");
    let message = report.error.unwrap().message;
    assert!(!message.contains("LEAKED"), "{name}: {message}");
    assert!(message.contains("component `evil`"), "{name}: {message}");
    (message, tmp)
}

#[test]
fn reading_etc_passwd_is_blocked() {
    let (message, _tmp) = attack("read_passwd");
    assert!(message.contains("read_passwd was blocked"), "{message}");
    // The sandbox answers "not found"; the user is told why.
    assert!(
        message.contains("`/etc/passwd` is outside the component's grant (granted:"),
        "{message}"
    );
}

#[test]
fn escaping_through_dotdot_is_blocked() {
    let (message, _tmp) = attack("escape_dotdot");
    assert!(message.contains("escape_dotdot was blocked"), "{message}");
}

#[test]
fn escaping_through_a_symlink_is_blocked() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "outside the grant").unwrap();
    // The attack follows home/link-out → a folder outside the grant.
    let (report, run_dir) = {
        let home_parent = tempfile::tempdir().unwrap();
        let home = home_parent.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::symlink(tmp.path(), home.join("link-out")).unwrap();
        let out = home_parent.path().join("out");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = runtime.block_on(hygge_runtime::flow::run_flow(
            &job(
                evil(),
                "attack",
                &attack_config("escape_symlink"),
                &home,
                &out,
                Permissions::default(),
                1,
            ),
            "run-1",
            &hygge_runtime::contract::RunScope::default(),
            RetryPolicy::default(),
            &NoEvents,
            &Interrupt::never(),
        ));
        (report, home_parent)
    };
    drop(run_dir);
    let message = report.error.unwrap().message;
    assert!(
        message.contains("escape_symlink was blocked") && !message.contains("LEAKED"),
        "{message}"
    );
}

#[test]
fn writing_into_the_read_only_home_is_blocked() {
    let (message, tmp) = attack("write_home");
    assert!(message.contains("write_home was blocked"), "{message}");
    assert!(!tmp.path().join("home/planted.txt").exists());
}

#[test]
fn the_environment_and_arguments_are_empty() {
    let (message, _tmp) = attack("env");
    assert!(
        message.contains("no environment variables are visible"),
        "{message}"
    );
    let (message, _tmp) = attack("args");
    assert!(message.contains("no arguments are visible"), "{message}");
}

#[test]
fn a_component_that_imports_sockets_is_refused_before_it_runs() {
    let (report, _tmp) = attack_by(evil_net(), "socket", Permissions::default(), 1);
    assert_eq!(report.status, FlowStatus::Failed);
    let message = report.error.unwrap().message;
    assert!(
        message.contains("component `evil-net` imports `wasi:sockets/")
            && message.contains("no raw network access"),
        "{message}"
    );
    // Refused at load: had it run, its `open` would have said how the socket went.
    assert!(!message.contains("socket was blocked"), "{message}");
    assert!(!message.contains("LEAKED"), "{message}");
}

#[test]
fn inspect_lists_a_refused_import_without_running_the_component() {
    let bytes = std::fs::read(env!("HYGGE_EVIL_NET_COMPONENT")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let found = runtime
        .block_on(hygge_runtime::wasm::inspect("evil-net", bytes))
        .unwrap();
    assert!(found.description.is_none(), "describe() ran");
    assert!(
        found
            .refused
            .iter()
            .any(|(import, what)| import.starts_with("wasi:sockets/")
                && *what == "raw network access"),
        "{:?}",
        found.refused
    );
    assert_eq!(found.world, "home-connector");
}

#[test]
fn an_endless_loop_is_interrupted() {
    let (report, _tmp) = attack_with(
        "spin",
        Permissions::default().with_call_timeout(Duration::from_millis(500)),
    );
    let message = report.error.unwrap().message;
    assert!(
        message.contains("did not finish `next-batch` within its call_timeout"),
        "{message}"
    );
}

#[test]
fn an_endless_loop_does_not_hold_the_executor() {
    // On a runtime with one thread, a bystander task that needs many turns of the scheduler
    // stops the spinning flow through the run's interrupt. If the component held the thread,
    // the bystander could not run, and the flow would end by its call_timeout instead: which
    // event ended the flow is compared, not a duration.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = tmp.path().join("out");
    // The scheduler checks for finished I/O and blocking work at every turn, so only the
    // component could keep the bystander from running.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .event_interval(1)
        .enable_all()
        .build()
        .unwrap();
    let permissions = Permissions::default().with_call_timeout(Duration::from_secs(600));
    let (trigger, interrupt) = Interrupt::new();
    let summary = runtime.block_on(async {
        let options = RunOptions {
            concurrency: 1,
            continue_on_error: true,
            retry: RetryPolicy {
                attempts: 1,
                base_delay: Duration::ZERO,
            },
        };
        let jobs = vec![job(
            evil(),
            "attack",
            &attack_config("spin"),
            &home,
            &out,
            permissions,
            1,
        )];
        let flow = tokio::spawn(run_all(
            jobs,
            "run-1",
            options,
            Arc::new(NoEvents),
            interrupt,
        ));
        let staged = out.clone();
        tokio::spawn(async move {
            // The store is open once its staging exists: the home is then spinning.
            while !std::fs::read_dir(&staged).is_ok_and(|mut d| {
                d.any(|e| {
                    e.is_ok_and(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with(".hygge-staging.attack")
                    })
                })
            }) {
                tokio::task::yield_now().await;
            }
            for _ in 0..1_000 {
                tokio::task::yield_now().await;
            }
            trigger.fire();
        });
        flow.await.unwrap()
    });
    let error = summary.flows[0].error.as_ref().unwrap();
    assert_eq!(
        error.kind,
        hygge_runtime::contract::ErrorKind::Interrupted,
        "the component held the only thread: {error:?}"
    );
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let (report, _tmp) = attack_with("memory", Permissions::default().with_memory_limit(64 << 20));
    let message = report.error.unwrap().message;
    assert!(
        message.contains("over its memory_limit of 64 MiB"),
        "{message}"
    );
}

#[test]
fn a_huge_batch_hits_the_memory_cap() {
    let (message, _tmp) = attack("huge_batch");
    assert!(
        message.contains("over its memory_limit of 512 MiB"),
        "{message}"
    );
}

#[test]
fn a_huge_batch_within_a_raised_cap_is_refused_by_the_message_limit() {
    let (report, _tmp) = attack_with(
        "huge_batch",
        Permissions::default().with_memory_limit(3 << 30),
    );
    let message = report.error.unwrap().message;
    assert!(
        message.contains("tried to hand more than 256 MiB to the host in `next-batch`"),
        "{message}"
    );
}

#[test]
fn garbage_bytes_are_refused() {
    let (message, _tmp) = attack("garbage");
    assert!(
        message.contains("invalid Arrow IPC bytes from `next-batch`"),
        "{message}"
    );
}

#[test]
fn an_end_of_unit_answer_from_a_home_not_in_parts_is_refused() {
    let (message, _tmp) = attack("empty_batch");
    assert!(
        message.contains("invalid Arrow IPC bytes from `next-batch`"),
        "{message}"
    );
}

#[test]
fn a_part_with_data_after_the_others_ended_breaks_the_parts_protocol() {
    let (message, _tmp) = attack_in_parts("parts_overrun", 2);
    assert!(
        message.contains("sent more data in part 1 after part 0 had ended"),
        "{message}"
    );
}

#[test]
fn parts_that_announce_different_schemas_are_refused() {
    let (message, _tmp) = attack_in_parts("parts_schema", 3);
    assert!(
        message.contains("announced another schema in part 1 than in part 0"),
        "{message}"
    );
}

#[test]
fn a_batch_with_another_schema_is_refused() {
    let (message, _tmp) = attack("wrong_schema");
    assert!(
        message.contains("differs from the one it announced"),
        "{message}"
    );
}

#[test]
fn a_trap_is_reported_with_the_call() {
    let (message, _tmp) = attack("trap");
    assert!(
        message.contains("failed in `next-batch`") && message.contains("panics on purpose"),
        "{message}"
    );
}

#[test]
fn flooding_stdout_is_stopped() {
    let (message, _tmp) = attack("flood_stdout");
    assert!(message.contains("wrote more than 64 KiB"), "{message}");
}

/// The hostile component that attacks the HTTP grant (components/evil-http).
fn evil_http() -> Arc<ComponentSource> {
    let bytes = std::fs::read(env!("HYGGE_EVIL_HTTP_COMPONENT")).unwrap();
    ComponentSource::new("evil-http", bytes)
}

/// Runs HTTP `attack` on `url` with the origin `grant` granted (and `limit` bytes per
/// response); returns the failed flow's message.
fn http_attack(attack: &str, url: &str, grant: &str, limit: Option<u64>) -> String {
    let mut permissions = Permissions::default().with_http(HttpOrigin::parse(grant).unwrap());
    if let Some(limit) = limit {
        permissions = permissions.with_response_limit(limit);
    }
    let config = serde_json::json!({ "attack": attack, "url": url });
    let (report, _tmp) = attack_configured(evil_http(), &config, permissions, 1);
    assert_eq!(
        report.status,
        FlowStatus::Failed,
        "{attack} was not stopped"
    );
    let message = report.error.unwrap().message;
    assert!(!message.contains("LEAKED"), "{attack}: {message}");
    assert!(
        message.contains("component `evil-http`"),
        "{attack}: {message}"
    );
    message
}

/// A server that answers every request, to show when one reached it.
fn target() -> HttpServer {
    HttpServer::start(|_| Response::status(200, "secret")).unwrap()
}

#[test]
fn a_request_to_a_host_outside_the_grant_is_refused_unsent() {
    let granted = target();
    let elsewhere = target();
    let url = format!("{}/x", elsewhere.url());
    let message = http_attack("get", &format!("{url}?key=leak-me"), &granted.url(), None);
    assert!(
        message.contains(&format!("{url}?…"))
            && message.contains(&format!("http: {}", granted.url())),
        "{message}"
    );
    // The query, where a key may sit, is not repeated.
    assert!(!message.contains("leak-me"), "{message}");
    assert!(elsewhere.requests().is_empty(), "the request was sent");
}

#[test]
fn a_refusal_the_component_swallows_still_fails_its_flow() {
    let granted = target();
    let elsewhere = target();
    let message = http_attack("swallow", &elsewhere.url(), &granted.url(), None);
    assert!(message.contains("outside its grant"), "{message}");
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn a_redirect_out_of_the_grant_is_refused() {
    let elsewhere = target();
    let outside = format!("{}/stolen", elsewhere.url());
    let granted =
        HttpServer::start(move |_| Response::status(302, "").header("location", &outside)).unwrap();
    let message = http_attack(
        "redirect",
        &format!("{}/start", granted.url()),
        &granted.url(),
        None,
    );
    assert!(
        message.contains("/stolen") && message.contains("outside its grant"),
        "{message}"
    );
    assert_eq!(granted.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn localhost_is_not_the_granted_127_0_0_1() {
    let granted = target();
    let url = format!("http://localhost:{}/x", granted.port());
    let message = http_attack("get", &url, &granted.url(), None);
    assert!(message.contains(&url), "{message}");
    assert!(
        granted.requests().is_empty(),
        "the request reached the server by its name"
    );
}

#[test]
fn another_port_or_scheme_of_the_granted_host_is_refused() {
    let granted = target();
    let other = target();
    for url in [other.url(), granted.url().replace("http://", "https://")] {
        let message = http_attack("get", &url, &granted.url(), None);
        assert!(message.contains("outside its grant"), "{url}: {message}");
    }
    assert!(other.requests().is_empty() && granted.requests().is_empty());
}

#[test]
fn an_endless_body_is_cut_at_the_response_limit() {
    let endless = HttpServer::start(|_| Response {
        status: 200,
        headers: vec![],
        body: Body::Endless(vec![b'x'; 64 << 10]),
    })
    .unwrap();
    let message = http_attack("endless", &endless.url(), &endless.url(), Some(1 << 20));
    assert!(
        message.contains("larger than its response_limit of 1 MiB"),
        "{message}"
    );
}

#[test]
fn a_component_that_imports_http_without_a_grant_is_refused_before_it_runs() {
    let server = target();
    let config = serde_json::json!({ "attack": "get", "url": server.url() });
    let (report, _tmp) = attack_configured(evil_http(), &config, Permissions::default(), 1);
    let message = report.error.unwrap().message;
    assert!(
        message.contains("imports `wasi:http/") && message.contains("names no HTTP origin"),
        "{message}"
    );
    assert!(server.requests().is_empty());
}

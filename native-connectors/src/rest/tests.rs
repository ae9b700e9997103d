//! The REST component against a real HTTP server on 127.0.0.1: every pagination style, every
//! auth scheme, retries, the meaning of each failure, and the sandbox's HTTP grant (a
//! redirect out of it, a body over the cap, a body that stalls).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use hygge_http_test_server::{Body, HttpServer, Request, Response};
use hygge_runtime::contract::{
    ConfigProblem, ConnectorResult, ErrorKind, Home, HomeSpec, ReadRequest, Role, WatermarkFilter,
};
use hygge_runtime::testing::connector_config;
use hygge_runtime::wasm::WasmHomeSpec;
use serde_json::{Value as Json, json};

use super::home;

fn spec(yaml: &str) -> Result<WasmHomeSpec, ConfigProblem> {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    let connections = BTreeMap::new();
    home(&connector_config(&value, Role::Home, &connections))
}

async fn read(spec: WasmHomeSpec, request: ReadRequest) -> ConnectorResult<Vec<RecordBatch>> {
    let mut reader = Box::new(spec).open(&request).await?;
    let mut batches = Vec::new();
    while let Some(batch) = reader.next_batch().await? {
        batches.push(batch);
    }
    Ok(batches)
}

async fn read_yaml(yaml: &str) -> ConnectorResult<Vec<RecordBatch>> {
    read(spec(yaml).unwrap(), ReadRequest::default()).await
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name("id").unwrap();
            let ids = column.as_any().downcast_ref::<Int64Array>().unwrap();
            ids.values().to_vec()
        })
        .collect()
}

/// Records `0..7` as `{id, name}`.
fn record(id: usize) -> Json {
    json!({"id": id, "name": format!("n{id}")})
}

const TOTAL: usize = 7;
const PAGE: usize = 3;

fn slice(from: usize) -> Vec<Json> {
    (from..(from + PAGE).min(TOTAL)).map(record).collect()
}

fn param(request: &Request, name: &str) -> Option<usize> {
    request.param(name).and_then(|v| v.parse().ok())
}

/// Seven records in pages of three, in every pagination style, one path per style.
fn paginated(request: &Request, base: &str) -> Response {
    let page = param(request, "page").unwrap_or(1);
    let from = (page - 1) * PAGE;
    match request.path.as_str() {
        "/link" => {
            let mut response = Response::json(&json!(slice(from)));
            if from + PAGE < TOTAL {
                response = response.header(
                    "link",
                    &format!(
                        "<{base}/link?page=1>; rel=\"first\", </link?page={}>; rel=\"next\"",
                        page + 1
                    ),
                );
            }
            response
        }
        "/json_link" => Response::json(&json!({
            "data": {"items": slice(from)},
            "links": {"next": if from + PAGE < TOTAL { json!(format!("{base}/json_link?page={}", page + 1)) } else { Json::Null }},
        })),
        "/auto_body" => Response::json(&json!({
            "results": slice(from),
            "next": if from + PAGE < TOTAL { json!(format!("?page={}", page + 1)) } else { Json::Null },
        })),
        "/offset" => {
            let offset = param(request, "offset").unwrap();
            let limit = param(request, "limit").unwrap();
            let records: Vec<Json> = (offset..(offset + limit).min(TOTAL)).map(record).collect();
            Response::json(&json!({"items": records, "meta": {"total": TOTAL}}))
        }
        "/page_number" => {
            Response::json(&json!({"items": slice(from), "pages": TOTAL.div_ceil(PAGE)}))
        }
        "/cursor" => {
            let from = param(request, "after").unwrap_or(0);
            let next = (from + PAGE < TOTAL).then_some(from + PAGE);
            Response::json(&json!({"items": slice(from), "meta": {"next_cursor": next}}))
        }
        _ => Response::status(404, "no such path"),
    }
}

fn start_paginated() -> HttpServer {
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let shared = base.clone();
    let server = HttpServer::start(move |r| paginated(r, shared.get().unwrap())).unwrap();
    base.set(server.url()).unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pagination_style_reads_every_record_once() {
    let server = start_paginated();
    let url = server.url();
    let all: Vec<i64> = (0..TOTAL as i64).collect();
    for (endpoint, pagination) in [
        ("link", "{type: link_header}"),
        ("link", "{type: auto}"),
        ("json_link", "{type: json_link, next: links.next}"),
        ("auto_body", "{type: auto}"),
        ("offset", "{type: offset, limit: 3, total: meta.total}"),
        ("offset", "{type: offset, limit: 3}"),
        ("page_number", "{type: page_number, total_pages: pages}"),
        ("page_number", "{type: page_number}"),
        (
            "cursor",
            "{type: cursor, cursor: meta.next_cursor, cursor_param: after}",
        ),
    ] {
        let records = if endpoint == "json_link" {
            "records: data.items\n"
        } else {
            ""
        };
        let batches = read_yaml(&format!(
            "base_url: {url}\nendpoint: {endpoint}\npagination: {pagination}\n{records}batch_size: 2\n"
        ))
        .await
        .unwrap_or_else(|e| panic!("{endpoint} {pagination}: {e}"));
        assert_eq!(ids(&batches), all, "{endpoint} {pagination}");
    }
    let one_page = read_yaml(&format!(
        "base_url: {url}\nendpoint: link\npagination: {{type: none}}\n"
    ))
    .await
    .unwrap();
    assert_eq!(ids(&one_page), vec![0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_links_back_is_an_error_not_a_loop() {
    let server =
        HttpServer::start(|_| Response::json(&json!({"items": [{"id": 1}], "next": "/loop"})))
            .unwrap();
    let error = read_yaml(&format!("base_url: {}\nendpoint: loop\n", server.url()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Data);
    assert!(error.to_string().contains("already read"), "{error}");
    assert_eq!(server.requests().len(), 1);
}

/// Answers 401 unless `check` accepts the request.
fn guarded(check: impl Fn(&Request) -> bool + Send + Sync + 'static) -> HttpServer {
    HttpServer::start(move |r| {
        if check(r) {
            Response::json(&json!([{"id": 1}]))
        } else {
            Response::status(401, "who are you?")
        }
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_auth_scheme_sends_its_credentials() {
    for (auth, check) in [
        (
            "{type: bearer, token: s3cret}",
            Box::new(|r: &Request| r.header("authorization") == Some("Bearer s3cret"))
                as Box<dyn Fn(&Request) -> bool + Send + Sync>,
        ),
        (
            "{type: api_key, name: X-Api-Key, key: k1}",
            Box::new(|r: &Request| r.header("x-api-key") == Some("k1")),
        ),
        (
            "{type: api_key, name: api_key, key: 'k 2', location: query}",
            Box::new(|r: &Request| r.param("api_key") == Some("k 2")),
        ),
        (
            "{type: basic, username: ann, password: 'p:w'}",
            // base64("ann:p:w")
            Box::new(|r: &Request| r.header("authorization") == Some("Basic YW5uOnA6dw==")),
        ),
    ] {
        let server = guarded(check);
        let batches = read_yaml(&format!(
            "base_url: {}\nendpoint: x\nauth: {auth}\n",
            server.url()
        ))
        .await
        .unwrap_or_else(|e| panic!("{auth}: {e}"));
        assert_eq!(ids(&batches), vec![1], "{auth}");
    }
    // Without credentials the same server says 401: an auth error.
    let server = guarded(|_| false);
    let error = read_yaml(&format!("base_url: {}\nendpoint: x\n", server.url()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.to_string().contains("401"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_token_is_fetched_cached_and_fetched_anew_after_a_401() {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let server = HttpServer::start(move |r| match r.path.as_str() {
        "/token" => {
            let form = String::from_utf8_lossy(&r.body).to_string();
            if !form.contains("grant_type=client_credentials")
                || !form.contains("client_secret=sh%21")
            {
                return Response::status(400, "bad form");
            }
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Response::json(&json!({"access_token": format!("t{n}"), "expires_in": 3600}))
        }
        // The first token is revoked: only the second is accepted.
        _ if r.header("authorization") == Some("Bearer t2") => {
            let page = param(r, "page").unwrap_or(1);
            let next = if page < 3 {
                json!(format!("/items?page={}", page + 1))
            } else {
                Json::Null
            };
            Response::json(&json!({"items": [{"id": page}], "next": next}))
        }
        _ => Response::status(401, "expired"),
    })
    .unwrap();
    let url = server.url();
    let yaml = format!(
        "base_url: {url}\nendpoint: items\nauth: {{type: oauth2_client_credentials, token_url: {url}/token, client_id: me, client_secret: 'sh!'}}\n"
    );
    let batches = read_yaml(&yaml).await.unwrap();
    assert_eq!(ids(&batches), vec![1, 2, 3]);
    // One token refused, one fetched after the 401, then reused for every page.
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_honour_retry_after_and_recover_from_500s_and_give_up_as_a_connection_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = HttpServer::start(move |r| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match (r.path.as_str(), n) {
            ("/busy", 0) => Response::status(429, "slow down").header("retry-after", "0"),
            ("/busy", 1) => Response::status(503, "down"),
            ("/busy", _) => Response::json(&json!([{"id": 9}])),
            _ => Response::status(500, "always broken"),
        }
    })
    .unwrap();
    let url = server.url();
    let batches = read_yaml(&format!(
        "base_url: {url}\nendpoint: busy\nretries: {{backoff: 0}}\n"
    ))
    .await
    .unwrap();
    assert_eq!(ids(&batches), vec![9]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let error = read_yaml(&format!(
        "base_url: {url}\nendpoint: broken\nretries: {{max_attempts: 3, backoff: 0}}\n"
    ))
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert!(
        error.to_string().contains("500 after 3 attempts"),
        "{error}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_and_malformed_json_say_what_and_where() {
    let server = HttpServer::start(|r| match r.path.as_str() {
        "/bad" => Response::status(200, "[{\"id\": 1},\n {\"id\": oops}]"),
        _ => Response::status(404, "nope"),
    })
    .unwrap();
    let url = server.url();
    let error = read_yaml(&format!("base_url: {url}\nendpoint: missing\n"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains(&format!("{url}/missing")) && error.to_string().contains("404"),
        "{error}"
    );
    let error = read_yaml(&format!("base_url: {url}\nendpoint: bad\n"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Data);
    assert!(
        error.to_string().contains("not valid JSON at byte 20"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_flatten_take_explicit_types_and_a_misfit_names_field_and_page() {
    let server = HttpServer::start(|r| {
        let page = param(r, "page").unwrap_or(1);
        let records = match page {
            1 => json!([{"id": 1, "amount": "12.50", "customer": {"name": "Å", "address": {"city": "Oslo", "geo": {"lat": 1}}}, "tags": ["a"]}]),
            2 => json!([{"id": 2, "amount": 3, "customer": {"name": "B", "address": {"city": "Rome", "geo": null}}, "tags": []}]),
            _ => json!([{"id": "three", "amount": 1}]),
        };
        let next = if page < 3 { json!(format!("?page={}", page + 1)) } else { Json::Null };
        Response::json(&json!({"data": records, "next": next}))
    })
    .unwrap();
    let yaml = format!(
        "base_url: {}\nendpoint: orders\nflatten: {{max_depth: 2}}\nschema: {{amount: 'decimal(12,2)'}}\nsample_size: 2\nmax_pages: 2\n",
        server.url()
    );
    let batches = read_yaml(&yaml).await.unwrap();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "amount",
            "customer__name",
            "customer__address__city",
            "customer__address__geo",
            "tags"
        ]
    );
    assert_eq!(
        schema.field(1).data_type(),
        &arrow_schema::DataType::Decimal128(12, 2)
    );
    let cities = batches[0]
        .column(3)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(cities.value(0), "Oslo");
    let geo = batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(geo.value(0), "{\"lat\":1}");
    assert!(geo.is_null(1));
    // Without max_pages the third page's id is text: the read stops, naming it.
    let error = read_yaml(&yaml.replace("max_pages: 2\n", ""))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Data);
    let message = error.to_string();
    assert!(
        message.contains("page 3") && message.contains("id"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_read_sends_the_watermark_and_the_columns_asked_for() {
    let server =
        HttpServer::start(|_| Response::json(&json!([{"id": 5, "updated": "2026-11-02", "x": 1}])))
            .unwrap();
    let spec = spec(&format!(
        "base_url: {}\nendpoint: '{{flow}}/{{entity}}'\nparams: {{status: active, n: 3}}\nwatermark_param: updated_since\n",
        server.url()
    ))
    .unwrap();
    let request = ReadRequest::default()
        .with_columns(Some(vec!["updated".into(), "id".into()]))
        .with_watermark(Some(WatermarkFilter {
            column: "updated".into(),
            after: "2026-11-01".into(),
            inclusive: false,
        }));
    let batches = read(spec, request).await.unwrap();
    assert_eq!(batches[0].num_columns(), 2);
    assert_eq!(batches[0].schema().field(0).name(), "updated");
    let asked = &server.requests()[0];
    assert_eq!(asked.path, "/f/e");
    assert_eq!(asked.param("updated_since"), Some("2026-11-01"));
    assert_eq!(asked.param("status"), Some("active"));
    assert_eq!(asked.param("n"), Some("3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grant_holds_base_url_and_token_url_origins_and_nothing_else() {
    let spec = spec(
        "base_url: https://api.example.com/v2/\nauth: {type: oauth2_client_credentials, token_url: 'https://login.example.com:8443/oauth/token', client_id: a, client_secret: b}\n",
    )
    .unwrap();
    let sandbox = spec.sandbox().unwrap();
    assert!(
        sandbox.contains("http: https://api.example.com, https://login.example.com:8443"),
        "{sandbox}"
    );
    assert!(sandbox.contains("no folders"), "{sandbox}");
    assert!(
        !sandbox.contains('b') || !sandbox.contains("client_secret"),
        "{sandbox}"
    );
    for (yaml, key) in [
        ("base_url: https://me:pw@api.example.com/", "base_url"),
        (
            "base_url: https://api.example.com/\nendpoint: https://evil.example.com/x",
            "endpoint",
        ),
        (
            "base_url: https://api.example.com/\npaginaton: {type: none}",
            "paginaton",
        ),
        (
            "base_url: https://api.example.com/\nschema: {a: money}",
            "schema.a",
        ),
        (
            "base_url: https://api.example.com/\nresponse_limit: 0",
            "response_limit",
        ),
    ] {
        let problem = match super::home(&connector_config(
            &serde_yaml::from_str(yaml).unwrap(),
            Role::Home,
            &BTreeMap::new(),
        )) {
            Err(problem) => problem,
            Ok(_) => panic!("{yaml} was accepted"),
        };
        assert!(format!("{problem:?}").contains(key), "{yaml}: {problem:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_inside_the_grant_is_followed_and_one_outside_is_refused_unsent() {
    let elsewhere = HttpServer::start(|_| Response::json(&json!([{"id": 666}]))).unwrap();
    let outside = format!("{}/steal", elsewhere.url());
    let server = HttpServer::start(move |r| match r.path.as_str() {
        "/moved" => Response::status(301, "").header("location", "/new"),
        "/new" => Response::json(&json!([{"id": 1}])),
        _ => Response::status(302, "").header("location", &outside),
    })
    .unwrap();
    let batches = read_yaml(&format!("base_url: {}\nendpoint: moved\n", server.url()))
        .await
        .unwrap();
    assert_eq!(ids(&batches), vec![1]);
    let error = read_yaml(&format!("base_url: {}\nendpoint: away\n", server.url()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    assert!(
        message.contains("rest_api")
            && message.contains(&format!("{}/steal", elsewhere.url()))
            && message.contains(&format!("http: {}", server.url())),
        "{message}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the refused request reached the other server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_response_limit_is_cut_off() {
    let server = HttpServer::start(|r| match r.path.as_str() {
        "/declared" => Response::status(200, vec![b' '; (1 << 20) + 1]),
        _ => Response {
            status: 200,
            headers: vec![],
            body: Body::Endless(vec![b' '; 64 << 10]),
        },
    })
    .unwrap();
    for endpoint in ["declared", "endless"] {
        let error = read_yaml(&format!(
            "base_url: {}\nendpoint: {endpoint}\nresponse_limit: 1\n",
            server.url()
        ))
        .await
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Data, "{endpoint}: {error}");
        assert!(
            error.to_string().contains("response_limit of 1 MiB"),
            "{endpoint}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_fails_at_the_request_timeout() {
    let server = HttpServer::start(|_| Response {
        status: 200,
        headers: vec![],
        body: Body::Stall(b"[{\"id\": 1}".to_vec()),
    })
    .unwrap();
    let error = read_yaml(&format!(
        "base_url: {}\nendpoint: slow\nrequest_timeout: 1\n",
        server.url()
    ))
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection);
    assert!(
        error.to_string().contains("request_timeout of 1 s"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_walk_reads_every_page_and_a_closed_port_is_a_connection_error() {
    let server = start_paginated();
    let batches = read_yaml(&format!(
        "base_url: {}\nendpoint: link\nrate_limit: {{requests_per_second: 10}}\n",
        server.url()
    ))
    .await
    .unwrap();
    assert_eq!(ids(&batches).len(), TOTAL);
    // The spacing itself is unit-tested in the component (`http::tests`), with no clock.
    assert_eq!(server.requests().len(), 3);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = read_yaml(&format!("base_url: http://127.0.0.1:{port}\nendpoint: x\n"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
}

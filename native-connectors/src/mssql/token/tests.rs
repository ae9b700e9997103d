//! Token flows against real local HTTP servers and a stand-in `az` program.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;

/// An HTTP server on 127.0.0.1 answering every request with `status` and `body`, recording
/// each request's head and body.
struct FakeEndpoint {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(status: u16, body: &'static str) -> FakeEndpoint {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body_in = vec![0; length];
            reader.read_exact(&mut body_in).ok();
            head.push_str(&String::from_utf8_lossy(&body_in));
            seen.lock().unwrap().push(head);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).ok();
        }
    });
    FakeEndpoint { url, requests }
}

fn endpoints() -> Endpoints {
    Endpoints {
        authority: "http://127.0.0.1:9".into(),
        identity_endpoint: None,
        imds: "http://127.0.0.1:9".into(),
        az: "/nonexistent/az".into(),
        environment_principal: (None, None, None),
    }
}

const GOOD: &str = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"tok-123"}"#;

#[test]
fn service_principal_posts_client_credentials_for_sql_scope() {
    let server = serve(200, GOOD);
    let at = Endpoints {
        authority: server.url.clone(),
        ..endpoints()
    };
    let token = service_principal(&at, "tenant-1", "app-1", "s3cret").unwrap();
    assert_eq!(token.access_token, "tok-123");
    assert_eq!(token.expires_in, Duration::from_secs(3599));
    let request = server.requests.lock().unwrap()[0].clone();
    assert!(
        request.starts_with("POST /tenant-1/oauth2/v2.0/token"),
        "{request}"
    );
    for part in [
        "grant_type=client_credentials",
        "client_id=app-1",
        "client_secret=s3cret",
        "scope=https%3A%2F%2Fdatabase.windows.net%2F.default",
    ] {
        assert!(request.contains(part), "{part} missing in {request}");
    }
}

#[test]
fn a_refused_secret_is_an_auth_error_with_the_reason() {
    let server = serve(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}"#,
    );
    let at = Endpoints {
        authority: server.url.clone(),
        ..endpoints()
    };
    let error = service_principal(&at, "t", "c", "wrong").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(
        error.message().contains("AADSTS7000215"),
        "{}",
        error.message()
    );
    assert!(!error.message().contains("Trace ID"), "{}", error.message());
}

#[test]
fn managed_identity_asks_the_metadata_service_for_sql() {
    let server = serve(200, r#"{"access_token":"mi-tok","expires_in":"86399"}"#);
    let at = Endpoints {
        imds: server.url.clone(),
        ..endpoints()
    };
    let token = managed_identity(&at, Some("user-assigned-1"), None).unwrap();
    assert_eq!(token.access_token, "mi-tok");
    assert_eq!(token.expires_in, Duration::from_secs(86399));
    let request = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        request.starts_with("get /metadata/identity/oauth2/token?"),
        "{request}"
    );
    assert!(request.contains("metadata: true"), "{request}");
    assert!(
        request.contains("resource=https%3a%2f%2fdatabase.windows.net%2f"),
        "{request}"
    );
    assert!(request.contains("client_id=user-assigned-1"), "{request}");
}

#[test]
fn managed_identity_prefers_the_app_service_endpoint() {
    let server = serve(200, GOOD);
    let at = Endpoints {
        identity_endpoint: Some((format!("{}/msi/token", server.url), "hdr-secret".into())),
        ..endpoints()
    };
    managed_identity(&at, None, None).unwrap();
    let request = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        request.starts_with("get /msi/token?api-version=2019-08-01"),
        "{request}"
    );
    assert!(
        request.contains("x-identity-header: hdr-secret"),
        "{request}"
    );
}

fn fake_az(dir: &std::path::Path, script: &str) -> String {
    let path = dir.join("az");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn azure_cli_token_and_its_failure() {
    let dir = tempfile::tempdir().unwrap();
    let at = Endpoints {
        az: fake_az(
            dir.path(),
            r#"[ "$4" = "https://database.windows.net/" ] || exit 3
echo '{"accessToken":"cli-tok","expiresOn":"2099-01-01 00:00:00.000000","expires_on":4070908800,"tokenType":"Bearer"}'"#,
        ),
        ..endpoints()
    };
    let token = azure_cli(&at).unwrap();
    assert_eq!(token.access_token, "cli-tok");
    assert!(token.expires_in > Duration::from_secs(3600 * 24 * 365));

    let at = Endpoints {
        az: fake_az(
            dir.path(),
            "echo 'ERROR: Please run az login to setup account.' >&2; exit 1",
        ),
        ..endpoints()
    };
    let error = azure_cli(&at).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(
        error.message().contains("Please run az login"),
        "{}",
        error.message()
    );
}

#[test]
fn the_default_chain_falls_through_to_the_cli_and_reports_every_failure() {
    let dir = tempfile::tempdir().unwrap();
    let at = Endpoints {
        az: fake_az(
            dir.path(),
            r#"echo '{"accessToken":"cli-tok","expires_on":4070908800}'"#,
        ),
        ..endpoints()
    };
    assert_eq!(default_chain(&at).unwrap().access_token, "cli-tok");

    let server = serve(200, GOOD);
    let at = Endpoints {
        authority: server.url.clone(),
        environment_principal: (Some("t".into()), Some("c".into()), Some("s".into())),
        ..endpoints()
    };
    assert_eq!(default_chain(&at).unwrap().access_token, "tok-123");

    let error = default_chain(&endpoints()).unwrap_err();
    for part in ["service principal", "managed identity", "azure cli"] {
        assert!(
            error.message().contains(part),
            "{part}: {}",
            error.message()
        );
    }
}

#[tokio::test]
async fn tokens_are_cached_until_close_to_expiry() {
    let server = serve(200, GOOD);
    let auth = AuthConfig::ServicePrincipal {
        tenant_id: "t".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    let at = Endpoints {
        authority: server.url.clone(),
        ..endpoints()
    };
    let source = TokenSource::with_endpoints(&auth, at).unwrap();
    assert_eq!(source.token_for("db", "host").await.unwrap(), "tok-123");
    assert_eq!(source.token_for("db", "host").await.unwrap(), "tok-123");
    assert_eq!(
        server.requests.lock().unwrap().len(),
        1,
        "second call must hit the cache"
    );
    // A token within the refresh margin is fetched again.
    *source.cache.lock().await = Some(("old".into(), Instant::now() + Duration::from_secs(60)));
    assert_eq!(source.token_for("db", "host").await.unwrap(), "tok-123");
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

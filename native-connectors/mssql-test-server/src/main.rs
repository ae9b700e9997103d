//! `hygge-tds-test-server [--port N] [--user U --password P]`: runs the test
//! server until killed, printing `listening on 127.0.0.1:PORT`.

use std::io::Write;
use std::process::ExitCode;

use hygge_tds_test_server::{ServerConfig, TestServer};

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    port: u16,
    login: Option<(String, String)>,
}

const USAGE: &str = "usage: hygge-tds-test-server [--port N] [--user U --password P]";

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut port = 0u16;
    let mut user = None;
    let mut password = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = v.parse().map_err(|_| format!("invalid port '{v}'"))?;
            }
            "--user" => user = Some(value("--user")?),
            "--password" => password = Some(value("--password")?),
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    let login = match (user, password) {
        (None, None) => None,
        (Some(u), Some(p)) => Some((u, p)),
        _ => return Err("--user and --password go together".to_string()),
    };
    Ok(Args { port, login })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut config = ServerConfig::default();
    if let Some(login) = args.login {
        config.logins = vec![login];
    }
    let server = match TestServer::start_on_port(args.port, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", server.addr());
    let _ = std::io::stdout().flush();
    // Serve until killed.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_port_and_login() {
        assert_eq!(
            parse_args(args(&["--port", "1433", "--user", "u", "--password", "p"])),
            Ok(Args {
                port: 1433,
                login: Some(("u".into(), "p".into()))
            })
        );
        assert_eq!(
            parse_args(args(&[])),
            Ok(Args {
                port: 0,
                login: None
            })
        );
        assert!(parse_args(args(&["--user", "u"])).is_err());
        assert!(parse_args(args(&["--port", "x"])).is_err());
        assert!(parse_args(args(&["--bogus"])).is_err());
    }
}

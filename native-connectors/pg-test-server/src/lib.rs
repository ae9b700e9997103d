//! A real PostgreSQL server for tests: Debian's `postgresql` binaries, started on
//! 127.0.0.1 on a free port in a temporary data folder, and stopped (and removed) when the
//! [`PgServer`] is dropped.
//!
//! Start-up waits for the server to accept connections (`pg_ctl start -w`), never for a
//! duration. When the binaries are missing, [`PgServer::start`] fails with the command
//! that installs them: a test never skips silently.
//!
//! PostgreSQL refuses to run as root; as root, the data folder is given to the `postgres`
//! user the Debian package creates, and the server runs as that user.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser's name.
pub const USER: &str = "postgres";
/// The superuser's password (password authentication over TCP, as a real deployment).
pub const PASSWORD: &str = "Hygge-Test-1";

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PgServerError {
    /// Debian's `postgresql` package is not installed.
    #[error(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed; install them with: \
         apt-get install -y postgresql"
    )]
    NotInstalled,
    /// A step of start-up failed.
    #[error("{step} failed: {detail}")]
    Step {
        /// What was run.
        step: String,
        /// Its output, or the I/O error.
        detail: String,
    },
}

/// A running server; stopped and its data folder removed on drop.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgServer {
    /// Initialises a fresh cluster and starts it.
    ///
    /// # Errors
    /// [`PgServerError::NotInstalled`] without the binaries; [`PgServerError::Step`] naming
    /// the step that failed otherwise.
    pub fn start() -> Result<PgServer, PgServerError> {
        let bin = binaries().ok_or(PgServerError::NotInstalled)?;
        let root = unique_dir()?;
        let as_postgres = is_root();
        let mut server = PgServer {
            bin,
            data: root.join("data"),
            root,
            port: free_port()?,
            as_postgres,
        };
        let password_file = server.root.join("password");
        fs::write(&password_file, PASSWORD).map_err(|e| step("write the password file", e))?;
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&server.root))?;
        }
        server.run_as_server(
            "initdb",
            &[
                "-D".as_ref(),
                server.data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "--pwfile".as_ref(),
                password_file.as_os_str(),
                "--auth-host=scram-sha-256".as_ref(),
                "--auth-local=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        // The free port may be taken before the server binds it: then another is tried.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match server.pg_ctl_start() {
                Ok(()) => return Ok(server),
                Err(e) if attempts >= 3 => return Err(e),
                Err(_) => server.port = free_port()?,
            }
        }
    }

    fn pg_ctl_start(&self) -> Result<(), PgServerError> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.root.display()
        );
        let log = self.root.join("server.log");
        self.run_as_server(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )
        .map(|_| ())
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres:…@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// Runs SQL with `psql` over TCP, as an independent client: its output, unaligned
    /// and without headers.
    ///
    /// # Errors
    /// [`PgServerError::Step`] with psql's error.
    pub fn psql(&self, sql: &str) -> Result<String, PgServerError> {
        psql_at(self.port, sql)
    }

    fn run_as_server(
        &self,
        program: &str,
        args: &[&std::ffi::OsStr],
    ) -> Result<Output, PgServerError> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        run(command.args(args))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.run_as_server(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Runs SQL with `psql` against the test server on `port` (started by another process,
/// such as a test's parent): its output, unaligned and without headers.
///
/// # Errors
/// [`PgServerError::NotInstalled`] without the binaries, [`PgServerError::Step`] with
/// psql's error.
pub fn psql_at(port: u16, sql: &str) -> Result<String, PgServerError> {
    let bin = binaries().ok_or(PgServerError::NotInstalled)?;
    let output = run(Command::new(bin.join("psql"))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args([
            "-p",
            &port.to_string(),
            "-U",
            USER,
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .env("PGPASSWORD", PASSWORD))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_string())
}

/// The newest installed server's `bin` folder (`/usr/lib/postgresql/<version>/bin`).
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A fresh folder under the system temp folder, readable by the `postgres` user.
fn unique_dir() -> Result<PathBuf, PgServerError> {
    let base = std::env::temp_dir();
    for attempt in 0..1000u32 {
        let dir = base.join(format!("hygge-pg-{}-{attempt}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                set_mode(&dir, 0o700)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(step("create the server's folder", e)),
        }
    }
    Err(PgServerError::Step {
        step: "create the server's folder".into(),
        detail: "no free name".into(),
    })
}

fn set_mode(dir: &Path, mode: u32) -> Result<(), PgServerError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| step("set the server folder's permissions", e))
}

/// A port nobody listens on now (the kernel's choice for port 0).
fn free_port() -> Result<u16, PgServerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| step("find a free port", e))
}

fn step(what: &str, e: impl std::fmt::Display) -> PgServerError {
    PgServerError::Step {
        step: what.to_string(),
        detail: e.to_string(),
    }
}

fn run(command: &mut Command) -> Result<Output, PgServerError> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| step(&shown, e))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(PgServerError::Step {
            step: shown,
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

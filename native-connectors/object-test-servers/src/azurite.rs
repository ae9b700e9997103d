//! Azurite's blob service (npm `azurite`), under the tools folder.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::http::request;
use crate::process::ServerProcess;
use crate::{ServerError, step, tools_dir};

/// Azurite's well-known account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const API_VERSION: &str = "2021-08-06";

/// A running Azurite blob service, keeping its data in memory.
#[derive(Debug)]
pub struct Azurite {
    process: ServerProcess,
}

impl Azurite {
    /// Starts a fresh service (no containers).
    ///
    /// # Errors
    /// [`ServerError::NotInstalled`] with the install command, or the step that failed.
    pub fn start() -> Result<Azurite, ServerError> {
        let binary = tools_dir().join("node_modules/.bin/azurite-blob");
        if !binary.is_file() {
            return Err(ServerError::NotInstalled {
                what: "Azurite",
                path: binary.display().to_string(),
                install: format!(
                    "npm install --prefix {} azurite@3.35 (or bash .ci/run)",
                    tools_dir().display()
                ),
            });
        }
        let process = ServerProcess::start(
            "azurite-blob",
            |port| {
                let mut command = Command::new(&binary);
                command
                    .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                    .args([
                        "--skipApiVersionCheck",
                        "--disableTelemetry",
                        "--inMemoryPersistence",
                    ]);
                command
            },
            "successfully listens on",
        )?;
        Ok(Azurite { process })
    }

    /// `http://127.0.0.1:<port>/devstoreaccount1`, the blob endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.process.port())
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// Creates the container `name`, signed with the well-known key.
    ///
    /// # Errors
    /// The service refused.
    pub fn create_container(&self, name: &str) -> Result<(), ServerError> {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let canonical = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{API_VERSION}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
        );
        let key = STANDARD
            .decode(AZURITE_KEY)
            .map_err(|e| step("decode the Azurite key", e))?;
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            canonical.as_bytes(),
        );
        let headers = [
            ("x-ms-date".to_string(), date),
            ("x-ms-version".to_string(), API_VERSION.to_string()),
            (
                "Authorization".to_string(),
                format!(
                    "SharedKey {AZURITE_ACCOUNT}:{}",
                    STANDARD.encode(tag.as_ref())
                ),
            ),
        ];
        let path = format!("/{AZURITE_ACCOUNT}/{name}?restype=container");
        let (status, response) = request(self.process.port(), "PUT", &path, &headers)?;
        if status == 201 {
            Ok(())
        } else {
            Err(ServerError::Step {
                step: format!("create container {name}"),
                detail: response,
            })
        }
    }
}

//! moto's S3 server (PyPI `moto[server]`), in a venv under the tools folder.

use std::process::Command;

use crate::http::request;
use crate::process::ServerProcess;
use crate::{ServerError, tools_dir};

/// A running moto server. It accepts any credentials; its region is `us-east-1`.
#[derive(Debug)]
pub struct Moto {
    process: ServerProcess,
}

impl Moto {
    /// Starts a fresh server (empty: no buckets).
    ///
    /// # Errors
    /// [`ServerError::NotInstalled`] with the install command, or the step that failed.
    pub fn start() -> Result<Moto, ServerError> {
        let binary = tools_dir().join("venv/bin/moto_server");
        if !binary.is_file() {
            return Err(ServerError::NotInstalled {
                what: "moto's S3 server",
                path: binary.display().to_string(),
                install: format!(
                    "python3 -m venv {venv} && {venv}/bin/pip install 'moto[server]' (or bash .ci/run)",
                    venv = tools_dir().join("venv").display()
                ),
            });
        }
        let process = ServerProcess::start(
            "moto_server",
            |port| {
                let mut command = Command::new(&binary);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            },
            "Running on http://127.0.0.1",
        )?;
        Ok(Moto { process })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.process.port())
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// Creates the bucket `name`.
    ///
    /// # Errors
    /// The server refused.
    pub fn create_bucket(&self, name: &str) -> Result<(), ServerError> {
        let (status, response) = request(self.process.port(), "PUT", &format!("/{name}"), &[])?;
        if status == 200 {
            Ok(())
        } else {
            Err(ServerError::Step {
                step: format!("create bucket {name}"),
                detail: response,
            })
        }
    }

    /// How many multipart uploads to `bucket` were started and neither completed nor
    /// aborted: a test waits for one to know a run is uploading.
    ///
    /// # Errors
    /// The server refused.
    pub fn uploads_in_progress(&self, bucket: &str) -> Result<usize, ServerError> {
        let (status, response) = request(
            self.process.port(),
            "GET",
            &format!("/{bucket}?uploads"),
            &[],
        )?;
        if status == 200 {
            Ok(response.matches("<UploadId>").count())
        } else {
            Err(ServerError::Step {
                step: format!("list the uploads of {bucket}"),
                detail: response,
            })
        }
    }
}

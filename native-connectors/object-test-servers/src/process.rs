//! A server process: started on a free port, ready once it prints its listening line.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use crate::{ServerError, step};

/// A running server process, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts `command(port)` on a free port and waits until one of its output lines
    /// contains `ready`. A server that exits first (its port was taken in between) is
    /// started again on another port, twice at most.
    pub fn start(
        name: &str,
        mut command: impl FnMut(u16) -> Command,
        ready: &str,
    ) -> Result<ServerProcess, ServerError> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let mut child = command(port)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| step(format!("start {name}"), e))?;
            let stdout = child.stdout.take();
            let stderr = child.stderr.take();
            // Both pipes are read to the end on their own threads (a full pipe would stall
            // the server); each line is sent here until the ready line arrives.
            let (lines, seen) = std::sync::mpsc::channel::<String>();
            for pipe in [stdout.map(box_read), stderr.map(box_read)]
                .into_iter()
                .flatten()
            {
                let lines = lines.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(pipe).lines() {
                        let Ok(line) = line else { break };
                        let _ = lines.send(line);
                    }
                });
            }
            drop(lines);
            let mut output = String::new();
            let mut is_ready = false;
            for line in seen.iter() {
                output.push_str(&line);
                output.push('\n');
                if line.contains(ready) {
                    is_ready = true;
                    break;
                }
            }
            if is_ready {
                // Keep draining: the receiver is dropped, the readers ignore send errors.
                return Ok(ServerProcess { child, port });
            }
            let _ = child.kill();
            let _ = child.wait();
            last = output;
        }
        Err(ServerError::Step {
            step: format!("start {name}"),
            detail: format!("it exited before listening:\n{last}"),
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn box_read(pipe: impl Read + Send + 'static) -> Box<dyn Read + Send> {
    Box::new(pipe)
}

/// A port nobody listens on now (the kernel's choice for port 0).
fn free_port() -> Result<u16, ServerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| step("find a free port", e))
}

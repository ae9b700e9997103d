//! Attacks on the filesystem and the environment, made in `open`.

use std::io::Read;

use crate::hygge::connector::types::Error;
use crate::{blocked, leaked};

/// Runs the attack `name` if it is one of these; `Some(Err)` when it was blocked.
pub fn attack(name: &str, home: &str) -> Option<Result<(), Error>> {
    let outcome = match name {
        "read_passwd" => read("/etc/passwd"),
        "escape_dotdot" => read(&format!("{home}/../../../../etc/passwd")),
        "escape_symlink" => read(&format!("{home}/link-out/secret.txt")),
        "write_home" => std::fs::write(format!("{home}/planted.txt"), b"pwned")
            .map(|()| "wrote planted.txt".to_string()),
        "env" => match std::env::vars().next() {
            Some((k, v)) => Ok(format!("{k}={v}")),
            None => Err(std::io::Error::other(
                "no environment variables are visible",
            )),
        },
        "args" => match std::env::args().next() {
            Some(a) => Ok(a),
            None => Err(std::io::Error::other("no arguments are visible")),
        },
        _ => return None,
    };
    Some(match outcome {
        Err(e) => Err(blocked(name, e)),
        // Not blocked: report it as a leak the tests will see.
        Ok(content) => Err(Error {
            kind: crate::hygge::connector::types::ErrorKind::Internal,
            message: leaked(name, content)
                .map(|_| format!("LEAKED by {name}"))
                .unwrap_or_else(|e| e.message),
        }),
    })
}

/// Reads `path`; a failure names the path, as real connectors' errors do.
fn read(path: &str) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {path}: {e}")))?;
    Ok(text)
}

//! One plain HTTP/1.1 request to an emulator on loopback (bucket and container set-up).

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::{ServerError, step};

/// Sends `method path` with `headers` and an empty body to 127.0.0.1:`port`: the status
/// code and the response.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<(u16, String), ServerError> {
    let what = format!("{method} {path}");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| step(&what, e))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| step(&what, e))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| step(&what, e))?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| step(&what, format!("not an HTTP response: {response}")))?;
    Ok((status, response))
}

//! Reading a request from the input area: method, URL, client address and header fields,
//! each ending at a NUL (the layout `io.rs` describes).

use std::net::IpAddr;

use crate::ErrorCode;
use crate::request::{Request, RequestError, is_signature_field};

/// Reads the input area into `req`: the client address, or the error to report.
///
/// With `unread`, a request without signature fields keeps only the fields its decision reads
/// (every field is still checked and counted against the section limits, in order, exactly as
/// when kept); on meeting a signature field it is read again keeping every field, since a
/// signature may cover any of them. `unread` is JS's word that it saw no signature field: a
/// speed hint, never trusted.
// Out of line, its refusals too: V8 compiles a wasm function whole on its first call, at a
// cost that grows with its locals.
#[inline(never)]
pub(super) fn read_input(
    input: &[u8],
    req: &mut Request,
    unread: bool,
) -> Result<Option<IpAddr>, (ErrorCode, String)> {
    let text = std::str::from_utf8(input).map_err(|_| invalid("the request is not UTF-8"))?;
    // Fields end at each NUL (one pass over the bytes; a NUL is always one byte in UTF-8).
    let mut at = 0;
    let mut parts = std::iter::from_fn(|| {
        let rest = text.get(at..)?;
        let end = rest.bytes().position(|b| b == 0).unwrap_or(rest.len());
        at += end + 1;
        Some(&rest[..end])
    });
    let (Some(method), Some(url), Some(ip)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("incomplete request"));
    };
    req.start(method, url).map_err(bad_target)?;
    loop {
        match (parts.next(), parts.next()) {
            (Some(""), None) => break,
            (Some(name), Some(value)) if !unread => req.push_header(name, value),
            (Some(name), Some(_)) if is_signature_field(name) => {
                return read_input(input, req, false);
            }
            (Some(name), Some(value)) => req.push_header_unread(name, value),
            _ => {
                return Err(invalid(
                    "the request method, URL or client address contains NUL",
                ));
            }
        }
    }
    match ip {
        "" => Ok(None),
        s => s.parse::<IpAddr>().map(Some).map_err(|_| bad_ip(s)),
    }
}

#[cold]
#[inline(never)]
fn invalid(m: &str) -> (ErrorCode, String) {
    (ErrorCode::RequestInvalid, m.to_string())
}

#[cold]
#[inline(never)]
fn bad_target(e: RequestError) -> (ErrorCode, String) {
    (ErrorCode::RequestInvalid, e.to_string())
}

#[cold]
#[inline(never)]
fn bad_ip(s: &str) -> (ErrorCode, String) {
    (
        ErrorCode::InvalidOptions,
        format!("clientIp {s:?} is not an IP address"),
    )
}

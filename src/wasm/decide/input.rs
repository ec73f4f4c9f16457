//! Reading a request from the input area: method, URL, client address and header fields,
//! each ending at a NUL (the layout `io.rs` describes).

use std::net::IpAddr;

use crate::ErrorCode;
use crate::request::{Request, is_signature_field};

/// Reads the input area into `req`: the client address, or the error to report.
///
/// With `unread`, a request without signature fields keeps only the fields its decision reads
/// (every field is still checked and counted against the section limits, in order, exactly as
/// when kept); on meeting a signature field it is read again keeping every field, since a
/// signature may cover any of them. `unread` is JS's word that it saw no signature field: a
/// speed hint, never trusted.
pub(super) fn read_input(
    input: &[u8],
    req: &mut Request,
    unread: bool,
) -> Result<Option<IpAddr>, (ErrorCode, String)> {
    let text = std::str::from_utf8(input).map_err(|_| {
        (
            ErrorCode::RequestInvalid,
            "the request is not UTF-8".to_string(),
        )
    })?;
    // Fields end at each NUL (one pass over the bytes; a NUL is always one byte in UTF-8).
    let mut at = 0;
    let mut parts = std::iter::from_fn(|| {
        let rest = text.get(at..)?;
        let end = rest.bytes().position(|b| b == 0).unwrap_or(rest.len());
        at += end + 1;
        Some(&rest[..end])
    });
    let (Some(method), Some(url), Some(ip)) = (parts.next(), parts.next(), parts.next()) else {
        return Err((ErrorCode::RequestInvalid, "incomplete request".to_string()));
    };
    req.start(method, url)
        .map_err(|e| (ErrorCode::RequestInvalid, e.to_string()))?;
    loop {
        match (parts.next(), parts.next()) {
            (Some(""), None) => break,
            (Some(name), Some(value)) if !unread => req.push_header(name, value),
            (Some(name), Some(_)) if is_signature_field(name) => {
                return read_input(input, req, false);
            }
            (Some(name), Some(value)) => req.push_header_unread(name, value),
            _ => {
                return Err((
                    ErrorCode::RequestInvalid,
                    "the request method, URL or client address contains NUL".to_string(),
                ));
            }
        }
    }
    match ip {
        "" => Ok(None),
        s => s.parse::<IpAddr>().map(Some).map_err(|_| {
            (
                ErrorCode::InvalidOptions,
                format!("clientIp {s:?} is not an IP address"),
            )
        }),
    }
}

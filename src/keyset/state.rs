//! The name of a key set state: its revision and the SHA-256 of the key set JSON it is (or,
//! after deltas, would be) read from, as `payload_sha256` shows it on the wire.

use std::fmt;

use crate::encoding::{b64url_decode, b64url_encode};

/// The name of one key set state: its revision and the SHA-256 of its key set JSON bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SetState {
    /// The revision.
    pub revision: u64,
    /// SHA-256 of the exact key set JSON (an envelope's decoded payload).
    pub payload_sha256: [u8; 32],
}

impl SetState {
    /// The digest as the wire shows it: base64url without padding (43 characters).
    pub fn sha_text(&self) -> String {
        b64url_encode(&self.payload_sha256)
    }
}

impl fmt::Debug for SetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetState({}, {})", self.revision, self.sha_text())
    }
}

impl fmt::Display for SetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "revision {} (payload_sha256 {})",
            self.revision,
            self.sha_text()
        )
    }
}

/// A SHA-256 in the wire form (base64url, 43 characters), or why not.
pub(crate) fn parse_sha(s: &str) -> Result<[u8; 32], String> {
    b64url_decode(s)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .filter(|_| s.len() == 43)
        .ok_or_else(|| "expected a SHA-256 as base64url without padding (43 characters)".into())
}

//! The limits of what a request may hold, and the error of a request that could not be read
//! at all.

use std::fmt;

/// Header section limits; a request beyond them is refused as `malformed_request`.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// See [`MAX_HEADER_BYTES`].
pub const MAX_HEADERS: usize = 256;
/// The longest path and query accepted (RFC 9112 §3 recommends supporting at least 8000
/// octets); a longer one is refused as `malformed_request`.
pub const MAX_TARGET_BYTES: usize = 16 * 1024;

/// A request that could not be read at all (as opposed to one that is read and refused).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestError {
    /// Byte offset into the input, when the input was bytes.
    pub offset: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl RequestError {
    pub(crate) fn new(offset: Option<usize>, message: impl Into<String>) -> Self {
        RequestError {
            offset,
            message: message.into(),
        }
    }

    /// The stable code of this error at the JS boundary.
    pub fn code(&self) -> &'static str {
        crate::ErrorCode::RequestInvalid.as_str()
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} (at byte {o})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RequestError {}

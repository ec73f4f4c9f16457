//! Header field names: which fields a decision reads (and so which a request without
//! signature fields keeps), the `_` spellings of them that CGI-style origins read as the same
//! field, and what an HTTP token may hold.

/// The header fields a decision looks up on every request, most often to find them absent:
/// a request notes which it has, so looking up an absent one scans nothing.
const KNOWN: [&str; 8] = [
    "authorization",
    "x-api-key",
    "signature",
    "signature-input",
    "content-digest",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Header fields through which frameworks let a request override its method (Express
/// `method-override`, ASP.NET, Google APIs, Symfony): a decision reads each as a method, a
/// signature bound to the method must cover those present, and the signer covers them.
pub(crate) const METHOD_OVERRIDE_FIELDS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The fields a decision reads from a request that carries no signature fields (no
/// `Signature`, `Signature-Input` or `webhook-signature`): [`KNOWN`] and the Standard Webhooks
/// fields. A request read with
/// [`Request::push_header_unread`](super::Request::push_header_unread) keeps only these;
/// any other field is counted against the section limits and checked, not kept.
const READ_UNSIGNED: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// Whether a decision of a request without signature fields reads the field `name` (any case).
pub(crate) fn read_unsigned(name: &str) -> bool {
    known_bit(name).is_some() || READ_UNSIGNED.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The field a decision reads that `name` (any case, containing `_`) spells with `_` for some
/// `-`, if any: `X_API_Key`, `X_HTTP_Method_Override`, `Content_Digest`, `webhook_id`. CGI-style
/// origins (CGI, FastCGI/PHP, WSGI, nginx with `underscores_in_headers on`) map `-` and `_` to
/// the same `HTTP_*` variable, so such an origin may act on a key or a method override that the
/// decision never saw. The request is refused as malformed instead.
// Out of line: only requests with a `_` in a field name need it, and V8 compiles a wasm
// function whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
pub(super) fn underscore_twin(name: &str) -> Option<&'static str> {
    const DASHED: [&str; 9] = [
        "X-API-Key",
        "Signature-Input",
        "Content-Digest",
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ];
    DASHED.into_iter().find(|d| {
        d.len() == name.len()
            && d.bytes()
                .zip(name.bytes())
                .all(|(d, n)| d.eq_ignore_ascii_case(&n) || (d == b'-' && n == b'_'))
    })
}

/// Whether `name` (any case) is a signature field: a request carrying one may cover any field,
/// so every field is kept.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn is_signature_field(name: &str) -> bool {
    ["signature", "signature-input", "webhook-signature"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// Panics (fails closed) when a decision looks up a field of a request that kept only some
/// and not this one: reading it as absent could judge the request on fields it does not have.
#[inline(never)]
pub(super) fn not_kept(name: &str) {
    assert!(
        read_unsigned(name),
        "a decision looked up a header field this request did not keep"
    );
}

/// The bit of a [`KNOWN`] field name (any case), if it is one: by length first, so most names
/// are told apart without comparing a byte.
pub(super) fn known_bit(name: &str) -> Option<u16> {
    let candidates: &[usize] = match name.len() {
        9 => &[1, 2],
        13 => &[0, 6],
        14 => &[4],
        15 => &[3],
        17 => &[7],
        22 => &[5],
        _ => return None,
    };
    candidates
        .iter()
        .find(|&&i| KNOWN[i].eq_ignore_ascii_case(name))
        .map(|&i| 1 << i)
}

/// RFC 9110 `tchar`, as a table (checked for every byte of every header name).
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Checks an HTTP token (method, header name).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_rfc_9110s() {
        let listed =
            b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), listed.contains(&b), "{b:#04x}");
        }
    }

    #[test]
    fn every_known_field_has_its_own_bit() {
        for (i, k) in KNOWN.iter().enumerate() {
            assert_eq!(known_bit(k), Some(1 << i), "{k}");
            assert_eq!(known_bit(&k.to_ascii_uppercase()), Some(1 << i), "{k}");
        }
        for other in [
            "",
            "x-api-kez",
            "host",
            "signatures",
            "content-type",
            "x-http-method-overrid",
        ] {
            assert_eq!(known_bit(other), None, "{other}");
        }
    }

    #[test]
    fn fields_a_decision_reads_without_signature_fields() {
        for n in KNOWN.iter().chain(READ_UNSIGNED.iter()) {
            assert!(
                read_unsigned(n) && read_unsigned(&n.to_ascii_uppercase()),
                "{n}"
            );
        }
        for n in [
            "accept",
            "host",
            "x-api-keys",
            "x_api_key",
            "forwarded",
            "content-type",
        ] {
            assert!(!read_unsigned(n), "{n}");
        }
        for n in ["signature", "Signature-Input", "WEBHOOK-SIGNATURE"] {
            assert!(is_signature_field(n) && read_unsigned(n), "{n}");
        }
        assert!(!is_signature_field("webhook-id"));
    }
}

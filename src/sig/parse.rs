//! Reading `Signature-Input` and `Signature` (RFC 9421 §4.1, §4.2) into the signatures a
//! request presents.
//!
//! Both fields are Structured Field Dictionaries keyed by label. Problems with the fields as
//! a whole (syntax, a label in one field but not the other, a label given twice) make the
//! request's credentials malformed. Problems inside one labelled signature (a parameter of
//! the wrong type, an unsupported component) are kept with that label: they matter only if
//! the label names a key in the key set.

use std::fmt;

use sfv::visitor::{DictionaryVisitor, EntryVisitor};
use sfv::{BareItem, Dictionary, InnerList, KeyRef, ListEntry, Parser};

use super::components::ComponentId;
use crate::request::Request;

/// Most labelled signatures one request may carry (each may cost a signature check).
pub const MAX_SIGNATURES: usize = 8;
/// Most components one signature may cover.
pub const MAX_COMPONENTS: usize = 64;

/// The parameters of one signature (RFC 9421 §2.3) that keygate reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureParams {
    /// `created`: Unix seconds.
    pub created: Option<i64>,
    /// `expires`: Unix seconds.
    pub expires: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `alg`, as written.
    pub alg: Option<String>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
}

/// One labelled signature as presented, before any check.
#[derive(Clone, Debug)]
pub(crate) struct Presented {
    pub(crate) label: String,
    /// The `keyid`, when it is a string (read even if something else about the label is wrong).
    pub(crate) keyid: Option<String>,
    /// The signature itself, or what is wrong with this label.
    pub(crate) parsed: Result<Parsed, String>,
}

/// A well-formed labelled signature.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub(crate) components: Vec<ComponentId>,
    pub(crate) params: SignatureParams,
    /// The `@signature-params` value: the Signature-Input member exactly as parsed,
    /// serialized (RFC 9651 §4.1).
    pub(crate) params_text: String,
    pub(crate) signature: Vec<u8>,
}

/// A dictionary key that appears twice, reported by the parser.
#[derive(Debug)]
pub(crate) struct DuplicateKey(String);

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} appears more than once", self.0)
    }
}

impl std::error::Error for DuplicateKey {}

/// A Dictionary visitor that refuses duplicate keys. RFC 9651 keeps the last one, but
/// RFC 9421 requires labels to be unique across all Signature and Signature-Input fields,
/// and two readers of a repeated Content-Digest member could pick different ones.
#[derive(Default)]
pub(crate) struct UniqueKeys(Dictionary);

impl<'de> DictionaryVisitor<'de> for UniqueKeys {
    type Out = Dictionary;
    type Error = DuplicateKey;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        if self.0.contains_key(key) {
            return Err(DuplicateKey(key.as_str().to_string()));
        }
        match DictionaryVisitor::entry(&mut self.0, key) {
            Ok(v) => Ok(v),
            Err(never) => match never {},
        }
    }

    fn finish(self) -> Result<Dictionary, Self::Error> {
        Ok(self.0)
    }
}

/// Every field line of `name`, combined, parsed as a dictionary with unique keys.
pub(crate) fn field(req: &Request, name: &str, title: &str) -> Result<Option<Dictionary>, String> {
    let lines: Vec<&str> = req.header_values(name).collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let combined = lines.join(", ");
    Parser::new(&combined)
        .parse_dictionary_with_visitor(UniqueKeys::default())
        .map(Some)
        .map_err(|e| format!("{title}: {e}"))
}

/// The signatures `req` presents, in `Signature-Input` order, or `None` when it presents
/// none. `Err` means the fields themselves are malformed.
pub(crate) fn presented(req: &Request) -> Result<Option<Vec<Presented>>, String> {
    // Fields in the canonical shape signers write, every member well formed: read without
    // building Structured Field dictionaries (the same result, see `canonical.rs`).
    match super::canonical::presented(req) {
        Some(p) => Ok(Some(p)),
        None => presented_general(req),
    }
}

/// [`presented`] through `sfv`'s Dictionaries, for fields of any shape.
pub(crate) fn presented_general(req: &Request) -> Result<Option<Vec<Presented>>, String> {
    let inputs = field(req, "signature-input", "Signature-Input")?;
    let sigs = field(req, "signature", "Signature")?;
    let (inputs, mut sigs) = match (inputs, sigs) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err("Signature-Input without a Signature field".into()),
        (None, Some(_)) => return Err("Signature without a Signature-Input field".into()),
        (Some(i), Some(s)) => (i, s),
    };
    if inputs.is_empty() {
        return Err("Signature-Input: no signatures".into());
    }
    if inputs.len() > MAX_SIGNATURES {
        return Err(format!(
            "Signature-Input: {} signatures; at most {MAX_SIGNATURES} are accepted",
            inputs.len()
        ));
    }
    if let Some(k) = sigs.keys().find(|k| !inputs.contains_key(*k)) {
        return Err(format!(
            "Signature member {:?} has no matching Signature-Input member",
            k.as_str()
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    // Both dictionaries are consumed: each member moves into its signature, nothing is copied.
    for (label, entry) in inputs {
        let label = label.as_str();
        let Some(sig) = sigs.swap_remove(label) else {
            return Err(format!(
                "Signature-Input member {label:?} has no matching Signature member"
            ));
        };
        let ListEntry::InnerList(inner) = entry else {
            return Err(format!(
                "Signature-Input member {label:?}: expected an inner list of components"
            ));
        };
        let signature = match sig {
            ListEntry::Item(item) => match item.bare_item {
                BareItem::ByteSequence(b) => b,
                _ => {
                    return Err(format!(
                        "Signature member {label:?}: expected a byte sequence"
                    ));
                }
            },
            ListEntry::InnerList(_) => {
                return Err(format!(
                    "Signature member {label:?}: expected a byte sequence"
                ));
            }
        };
        let keyid = match inner.params.get("keyid") {
            Some(BareItem::String(s)) => Some(s.as_str().to_string()),
            _ => None,
        };
        let parsed = parse_member(inner, signature)
            .map_err(|e| format!("Signature-Input member {label:?}: {e}"));
        out.push(Presented {
            label: label.to_string(),
            keyid,
            parsed,
        });
    }
    Ok(Some(out))
}

fn int_param(v: &BareItem, name: &str) -> Result<i64, String> {
    match v {
        BareItem::Integer(i) => Ok(i64::from(*i)),
        _ => Err(format!(
            "expected parameter {name:?} to be an integer (Unix seconds)"
        )),
    }
}

fn str_param(v: &BareItem, name: &str) -> Result<String, String> {
    match v {
        BareItem::String(s) => Ok(s.as_str().to_string()),
        _ => Err(format!("expected parameter {name:?} to be a quoted string")),
    }
}

fn parse_member(inner: InnerList, signature: Vec<u8>) -> Result<Parsed, String> {
    if inner.items.len() > MAX_COMPONENTS {
        return Err(format!(
            "{} covered components; at most {MAX_COMPONENTS} are accepted",
            inner.items.len()
        ));
    }
    let mut components: Vec<ComponentId> = Vec::with_capacity(inner.items.len());
    for (i, item) in inner.items.iter().enumerate() {
        let c = ComponentId::from_item(item).map_err(|e| format!("component {i}: {e}"))?;
        if components.contains(&c) {
            return Err(format!("component {c} is listed more than once"));
        }
        components.push(c);
    }
    let mut p = SignatureParams::default();
    for (k, v) in &inner.params {
        match k.as_str() {
            "created" => p.created = Some(int_param(v, "created")?),
            "expires" => p.expires = Some(int_param(v, "expires")?),
            "nonce" => p.nonce = Some(str_param(v, "nonce")?),
            "alg" => p.alg = Some(str_param(v, "alg")?),
            "keyid" => p.keyid = Some(str_param(v, "keyid")?),
            "tag" => p.tag = Some(str_param(v, "tag")?),
            // Other parameters are covered by the signature through @signature-params.
            _ => {}
        }
    }
    let Some(created) = p.created else {
        return Err("expected parameter \"created\"".to_string());
    };
    if p.expires.is_some_and(|e| e < created) {
        return Err("parameter \"expires\" is earlier than \"created\"".to_string());
    }
    if p.keyid.is_none() {
        return Err("expected parameter \"keyid\"".to_string());
    }
    Ok(Parsed {
        components,
        params: p,
        params_text: super::base::params_value(&inner),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(input: &str, sig: &str) -> Request {
        let mut r = Request::new("GET", "https://h/").unwrap();
        if !input.is_empty() {
            r.push_header("Signature-Input", input);
        }
        if !sig.is_empty() {
            r.push_header("Signature", sig);
        }
        r
    }

    fn err(input: &str, sig: &str) -> String {
        presented(&req(input, sig)).unwrap_err()
    }

    #[test]
    fn reads_labels_in_order() {
        let r = req(
            "a=(\"@method\");created=1;keyid=\"k1\", b=();created=2;keyid=\"k2\";nonce=\"n\"",
            "b=:AAAA:, a=:AQID:",
        );
        let p = presented(&r).unwrap().unwrap();
        assert_eq!(p[0].label, "a");
        assert_eq!(p[1].keyid.as_deref(), Some("k2"));
        let a = p[0].parsed.as_ref().unwrap();
        assert_eq!(a.signature, [1, 2, 3]);
        assert_eq!(a.components.len(), 1);
        let b = p[1].parsed.as_ref().unwrap();
        assert_eq!(b.params.nonce.as_deref(), Some("n"));
        assert!(presented(&req("", "")).unwrap().is_none());
    }

    #[test]
    fn field_level_problems() {
        assert!(err("a=();created=1;keyid=\"k\"", "").contains("without a Signature"));
        assert!(err("", "a=:AA==:").contains("without a Signature-Input"));
        assert!(err("a=();created=1", "b=:AA==:").contains("no matching"));
        assert!(err("a=();created=1, b=()", "a=:AA==:").contains("\"b\" has no matching"));
        assert!(err("a=(), a=()", "a=:AA==:").contains("more than once"));
        assert!(err("a=()", "a=:AA==:, a=:AA==:").contains("more than once"));
        assert!(err("a=1", "a=:AA==:").contains("inner list"));
        assert!(err("a=()", "a=1").contains("byte sequence"));
        assert!(err("a=((", "a=:AA==:").starts_with("Signature-Input: "));
        assert!(err("a=()", "a=:not base64!:").starts_with("Signature: "));
        let many: Vec<String> = (0..9).map(|i| format!("s{i}=()")).collect();
        assert!(err(&many.join(", "), "s0=:AA==:").contains("at most 8"));
    }

    #[test]
    fn duplicate_labels_across_field_lines() {
        let mut r = req("a=();created=1;keyid=\"k\"", "a=:AA==:");
        r.push_header("Signature-Input", "a=();created=2;keyid=\"k\"");
        assert!(
            presented(&r)
                .unwrap_err()
                .contains("\"a\" appears more than once")
        );
    }

    #[test]
    fn label_level_problems_stay_with_the_label() {
        let one = |input: &str| {
            let p = presented(&req(input, "a=:AA==:")).unwrap().unwrap();
            p[0].parsed.clone().unwrap_err()
        };
        assert!(one("a=();keyid=\"k\"").contains("\"created\""));
        assert!(one("a=();created=\"1\";keyid=\"k\"").contains("integer"));
        assert!(one("a=();created=1").contains("\"keyid\""));
        assert!(one("a=();created=1;keyid=k").contains("quoted string"));
        assert!(one("a=();created=5;expires=4;keyid=\"k\"").contains("earlier"));
        assert!(
            one("a=(\"@method\" \"@method\");created=1;keyid=\"k\"").contains("more than once")
        );
        assert!(one("a=(\"@foo\");created=1;keyid=\"k\"").contains("component 0"));
        let p = presented(&req("a=();created=1;keyid=k", "a=:AA==:"))
            .unwrap()
            .unwrap();
        assert_eq!(p[0].keyid, None);
    }
}

//! Component values (RFC 9421 §2.1, §2.2): what each covered component contributes to the
//! signature base for a given request.
//!
//! Every value must be visible ASCII or spaces: a header value with other bytes is refused
//! rather than guessed at, because the bytes a client signed cannot be recovered reliably
//! from text that went through a UTF-8 or Latin-1 decoder.

use std::cell::RefCell;
use std::rc::Rc;

use sfv::{Dictionary, FieldType, Item, List, ListEntry, Parser};

use super::components::{ComponentId, Derived, FieldMode, SfType, Source, structured_type};
use super::query;
use crate::request::Request;

/// `@authority`: the host lower-cased and the scheme's default port removed (RFC 9110 §4.2.3).
#[cfg(test)]
fn authority(req: &Request) -> String {
    let mut out = String::new();
    write_authority(req, &mut out);
    out
}

/// `@authority` (see `authority`), appended to `out`.
fn write_authority(req: &Request, out: &mut String) {
    let raw = req.authority();
    // An IPv6 literal keeps its colons inside the brackets.
    let split_at = match raw.rfind(']') {
        Some(end) => raw[end..].find(':').map(|i| end + i),
        None => raw.rfind(':'),
    };
    let (host, port) = match split_at {
        Some(i) => (&raw[..i], Some(&raw[i + 1..])),
        None => (raw, None),
    };
    let default = match req.scheme() {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    };
    let start = out.len();
    out.push_str(host);
    out[start..].make_ascii_lowercase();
    if let Some(p) = port.filter(|p| !p.is_empty() && Some(*p) != default) {
        out.push(':');
        out.push_str(p);
    }
}

#[cfg(test)]
fn target_uri(req: &Request) -> String {
    let mut s = String::new();
    write_derived(Derived::TargetUri, None, req, &mut s).unwrap();
    s
}

/// A derived component's value (RFC 9421 §2.2), appended to `out`.
fn write_derived(
    d: Derived,
    qname: Option<&str>,
    req: &Request,
    out: &mut String,
) -> Result<(), String> {
    let query = |out: &mut String| {
        if let Some(q) = req.query() {
            out.push('?');
            out.push_str(q);
        }
    };
    match d {
        Derived::Method => out.push_str(req.method()),
        Derived::TargetUri => {
            out.push_str(req.scheme());
            out.push_str("://");
            write_authority(req, out);
            out.push_str(req.path());
            query(out);
        }
        Derived::Authority => write_authority(req, out),
        Derived::Scheme => out.push_str(req.scheme()),
        Derived::RequestTarget => {
            out.push_str(req.path());
            query(out);
        }
        Derived::Path => out.push_str(req.path()),
        Derived::Query => {
            out.push('?');
            out.push_str(req.query().unwrap_or(""));
        }
        Derived::QueryParam => {
            let name = qname.unwrap_or("");
            let found = query::values_named(req.query().unwrap_or(""), name);
            match found.len() {
                0 => return Err(format!("the query has no parameter {name:?}")),
                1 => out.push_str(&found[0]),
                n => {
                    return Err(format!(
                        "query parameter {name:?} occurs {n} times; cover \"@query\" instead"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn serialize_entry(entry: &ListEntry) -> String {
    match entry {
        ListEntry::Item(item) => item.serialize(),
        ListEntry::InnerList(_) => vec![entry.clone()].serialize().unwrap_or_default(),
    }
}

/// Header fields already read while building signature bases for one request. Several
/// labels, and several `;key` components of one label, cover the same field: each field is
/// joined, checked and (for `;key`) parsed as a Dictionary once per request, not once per
/// component, so the work a request can cause stays linear in its size.
#[derive(Default)]
pub(crate) struct FieldCache {
    combined: Memo<Result<String, String>>,
    dicts: Memo<Result<Dictionary, String>>,
}

/// Values computed once per field name.
type Memo<T> = RefCell<Vec<(String, Rc<T>)>>;

fn cached<T>(list: &Memo<T>, name: &str, make: impl FnOnce() -> T) -> Rc<T> {
    if let Some((_, v)) = list.borrow().iter().find(|(n, _)| n == name) {
        return Rc::clone(v);
    }
    let v = Rc::new(make());
    list.borrow_mut().push((name.to_string(), Rc::clone(&v)));
    v
}

impl FieldCache {
    /// The field's lines joined with `, ` (RFC 9421 §2.1), or why it cannot be covered.
    fn combined(&self, name: &str, req: &Request) -> Rc<Result<String, String>> {
        cached(&self.combined, name, || {
            let values: Vec<&str> = req.header_values(name).collect();
            if values.is_empty() {
                return Err(format!("the request has no {name:?} header"));
            }
            if values
                .iter()
                .any(|v| !v.bytes().all(|b| (0x20..0x7f).contains(&b)))
            {
                return Err(format!(
                    "header {name:?} has characters outside visible ASCII; such values cannot be verified"
                ));
            }
            Ok(values.join(", "))
        })
    }

    /// The field parsed as a Structured Field Dictionary.
    fn dictionary(&self, name: &str, req: &Request) -> Rc<Result<Dictionary, String>> {
        cached(&self.dicts, name, || {
            let combined = self.combined(name, req);
            let text = combined.as_ref().as_ref().map_err(Clone::clone)?;
            Parser::new(text)
                .parse::<Dictionary>()
                .map_err(|e| format!("header {name:?} is not a valid Dictionary: {e}"))
        })
    }
}

fn field_value(
    name: &str,
    mode: &FieldMode,
    req: &Request,
    cache: &FieldCache,
) -> Result<String, String> {
    let combined = cache.combined(name, req);
    let combined = combined.as_ref().as_ref().map_err(Clone::clone)?;
    let not_sf = |t: &str, e: sfv::Error| format!("header {name:?} is not a valid {t}: {e}");
    match mode {
        FieldMode::Plain => Ok(combined.clone()),
        FieldMode::Binary => {
            let list: List = req
                .header_values(name)
                .map(|v| ListEntry::from(Item::new(v.as_bytes().to_vec())))
                .collect();
            Ok(list.serialize().unwrap_or_default())
        }
        FieldMode::Member(key) => {
            let dict = cache.dictionary(name, req);
            let dict = dict.as_ref().as_ref().map_err(Clone::clone)?;
            dict.get(key.as_str())
                .map(serialize_entry)
                .ok_or_else(|| format!("header {name:?} has no member {key:?}"))
        }
        FieldMode::Structured => match structured_type(name) {
            Some(SfType::Dictionary) => cache
                .dictionary(name, req)
                .as_ref()
                .as_ref()
                .map(|d| d.serialize().unwrap_or_default())
                .map_err(Clone::clone),
            Some(SfType::List) => Parser::new(combined)
                .parse::<List>()
                .map(|l| l.serialize().unwrap_or_default())
                .map_err(|e| not_sf("List", e)),
            Some(SfType::Item) => Parser::new(combined)
                .parse::<Item>()
                .map(|i| i.serialize())
                .map_err(|e| not_sf("Item", e)),
            None => Err(format!("the structured type of {name:?} is not known")),
        },
    }
}

/// The value `component` contributes for `req`. An error means the component cannot be
/// derived from this request (a covered header is missing, a dictionary member is absent),
/// so no signature over it can verify.
#[cfg(test)]
fn value(component: &ComponentId, req: &Request, cache: &FieldCache) -> Result<String, String> {
    let mut out = String::new();
    write_value(component, req, cache, &mut out)?;
    Ok(out)
}

/// The value `component` contributes for `req`, appended to `out` (on an error, `out` may
/// hold part of it). An error means the component cannot be derived from this request (a
/// covered header is missing, a dictionary member is absent), so no signature over it can
/// verify.
pub(crate) fn write_value(
    component: &ComponentId,
    req: &Request,
    cache: &FieldCache,
    out: &mut String,
) -> Result<(), String> {
    match &component.source {
        Source::Derived(d, qname) => write_derived(*d, qname.as_deref(), req, out),
        Source::Field(name, mode) => {
            out.push_str(&field_value(name, mode, req, cache)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(c: &str, req: &Request) -> Result<String, String> {
        value(&ComponentId::parse(c).unwrap(), req, &FieldCache::default())
    }

    #[test]
    fn rfc9421_derived_examples() {
        let r = Request::new("POST", "https://www.example.com/path?param=value").unwrap();
        assert_eq!(val("@method", &r).unwrap(), "POST");
        assert_eq!(
            val("@target-uri", &r).unwrap(),
            "https://www.example.com/path?param=value"
        );
        assert_eq!(val("@authority", &r).unwrap(), "www.example.com");
        assert_eq!(val("@scheme", &r).unwrap(), "https");
        assert_eq!(val("@request-target", &r).unwrap(), "/path?param=value");
        assert_eq!(val("@path", &r).unwrap(), "/path");
        assert_eq!(val("@query", &r).unwrap(), "?param=value");
        let r = Request::new("GET", "http://h/p").unwrap();
        assert_eq!(val("@query", &r).unwrap(), "?");
        let r = Request::new("GET", "https://h/p?param=value&foo=bar&baz=batman&qux=").unwrap();
        assert_eq!(val("@query-param;name=\"baz\"", &r).unwrap(), "batman");
        assert_eq!(val("@query-param;name=\"qux\"", &r).unwrap(), "");
        assert!(val("@query-param;name=\"nope\"", &r).is_err());
        let r = Request::new("GET", "https://h/p?a=1&a=2").unwrap();
        assert!(
            val("@query-param;name=\"a\"", &r)
                .unwrap_err()
                .contains("2 times")
        );
    }

    #[test]
    fn authority_is_normalized() {
        for (url, want) in [
            ("https://Example.COM:443/", "example.com"),
            ("http://example.com:80/", "example.com"),
            ("https://example.com:80/", "example.com:80"),
            ("http://example.com:/", "example.com"),
            ("https://[2001:DB8::1]:443/", "[2001:db8::1]"),
            ("https://[2001:db8::1]:8443/", "[2001:db8::1]:8443"),
            ("https://[::1]/", "[::1]"),
        ] {
            let r = Request::new("GET", url).unwrap();
            assert_eq!(authority(&r), want, "{url}");
        }
        let r = Request::new("GET", "https://Example.com:443/a?b").unwrap();
        assert_eq!(target_uri(&r), "https://example.com/a?b");
    }

    #[test]
    fn rfc9421_field_examples() {
        let r = Request::new("GET", "https://www.example.com/")
            .unwrap()
            .with_header("Cache-Control", "max-age=60")
            .with_header("Cache-Control", "   must-revalidate")
            .with_header("X-Empty-Header", " ")
            .with_header("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
            .with_header("Content-Digest", "sha-256=:AAAA:,   sha-512=:BBBB:");
        assert_eq!(
            val("cache-control", &r).unwrap(),
            "max-age=60, must-revalidate"
        );
        assert_eq!(val("x-empty-header", &r).unwrap(), "");
        assert_eq!(
            val("example-dict", &r).unwrap(),
            "a=1,    b=2;x=1;y=2,   c=(a   b   c)"
        );
        assert_eq!(val("example-dict;key=\"a\"", &r).unwrap(), "1");
        assert_eq!(val("example-dict;key=\"b\"", &r).unwrap(), "2;x=1;y=2");
        assert_eq!(val("example-dict;key=\"c\"", &r).unwrap(), "(a b c)");
        assert!(val("example-dict;key=\"zz\"", &r).is_err());
        assert_eq!(
            val("content-digest;sf", &r).unwrap(),
            "sha-256=:AAAA:, sha-512=:BBBB:"
        );
        assert!(
            val("missing", &r)
                .unwrap_err()
                .contains("no \"missing\" header")
        );
        assert!(val("cache-control;key=\"x\"", &r).is_err());
    }

    #[test]
    fn byte_sequence_wrapping() {
        let two = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("Example-Header", "value, with, lots")
            .with_header("Example-Header", "of, commas");
        assert_eq!(
            val("example-header;bs", &two).unwrap(),
            ":dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:"
        );
        let one = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("Example-Header", "value, with, lots, of, commas");
        assert_eq!(
            val("example-header;bs", &one).unwrap(),
            ":dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:"
        );
        assert_eq!(val("example-header", &one), val("example-header", &two));
    }

    #[test]
    fn non_ascii_values_are_refused() {
        let r = Request::new("GET", "https://h/")
            .unwrap()
            .with_header("X-Name", "caf\u{e9}");
        assert!(val("x-name", &r).unwrap_err().contains("visible ASCII"));
    }
}

//! Component identifiers (RFC 9421 §2): a derived component (`@method`, ...) or a header
//! field name, with the parameters this verifier understands. Anything else is refused, not
//! ignored: a parameter the verifier skipped would change what the signature means.

use std::fmt;

use sfv::{BareItem, FieldType, Item, Parser};

/// A derived component (RFC 9421 §2.2) that applies to requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Derived {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    QueryParam,
}

const DERIVED: [(&str, Derived); 8] = [
    ("@method", Derived::Method),
    ("@target-uri", Derived::TargetUri),
    ("@authority", Derived::Authority),
    ("@scheme", Derived::Scheme),
    ("@request-target", Derived::RequestTarget),
    ("@path", Derived::Path),
    ("@query", Derived::Query),
    ("@query-param", Derived::QueryParam),
];

/// How a header field's value is canonicalized (RFC 9421 §2.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FieldMode {
    /// Values combined with `, `.
    Plain,
    /// `;sf`: strict structured-field re-serialization.
    Structured,
    /// `;key="m"`: one member of a Dictionary field.
    Member(String),
    /// `;bs`: each value wrapped as a Byte Sequence.
    Binary,
}

/// What a component identifier refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// A derived component; `@query-param` carries its (encoded) `name`.
    Derived(Derived, Option<String>),
    /// A header field (lower-case name) and how its value is canonicalized.
    Field(String, FieldMode),
}

/// A component identifier as it appears in `Signature-Input`, e.g. `"@query-param";name="id"`.
///
/// Two identifiers are equal when they have the same name and the same parameters, whatever
/// the parameters' order (RFC 9421 §2).
#[derive(Clone)]
pub struct ComponentId {
    pub(crate) item: Item,
    pub(crate) source: Source,
}

impl PartialEq for ComponentId {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for ComponentId {}

impl fmt::Debug for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComponentId({})", self.item.serialize())
    }
}

impl fmt::Display for ComponentId {
    /// The identifier as written in `Signature-Input`: `"@method"`, `"example-dict";key="a"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.item.serialize())
    }
}

fn kind(b: &BareItem) -> &'static str {
    match b {
        BareItem::Integer(_) => "an integer",
        BareItem::Decimal(_) => "a decimal",
        BareItem::String(_) => "a string",
        BareItem::Token(_) => "a token",
        BareItem::ByteSequence(_) => "a byte sequence",
        BareItem::Boolean(_) => "a boolean",
        BareItem::Date(_) => "a date",
        BareItem::DisplayString(_) => "a display string",
    }
}

/// Whether a byte stands for itself in an RFC 9651 String (printable ASCII but `"` and `\`):
/// a String of only such bytes serializes as its text, quoted.
pub(crate) fn unescaped_string_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

impl ComponentId {
    /// Appends the identifier as written in `Signature-Input` (see `Display`) to `out`.
    pub(crate) fn write_to(&self, out: &mut String) {
        // A name with no parameters and nothing to escape is serialized as itself, quoted.
        if let BareItem::String(name) = &self.item.bare_item
            && self.item.params.is_empty()
            && name.as_str().bytes().all(unescaped_string_byte)
        {
            out.push('"');
            out.push_str(name.as_str());
            out.push('"');
            return;
        }
        let _ = sfv::ItemSerializer::with_buffer(out)
            .bare_item(&self.item.bare_item)
            .parameters(&self.item.params)
            .finish();
    }

    /// The identifier without quotes around its name, as [`ComponentId::parse`] and the
    /// signers take it: `@method`, `content-digest;sf`, `@query-param;name="id"`.
    pub fn unquoted(&self) -> String {
        // A component name is a token or `@`-name: it never needs quoting within the string.
        match &self.item.bare_item {
            BareItem::String(name) => {
                let mut out = String::with_capacity(name.as_str().len() + 8);
                out.push_str(name.as_str());
                // Parameters as RFC 9651 §4.1.1.2 serializes them: `;key`, and `=value`
                // unless the value is true.
                for (k, v) in &self.item.params {
                    out.push(';');
                    out.push_str(k.as_str());
                    if *v != BareItem::Boolean(true) {
                        out.push('=');
                        let _ = sfv::ItemSerializer::with_buffer(&mut out)
                            .bare_item(v)
                            .finish();
                    }
                }
                out
            }
            _ => self.item.serialize(),
        }
    }

    /// Reads one member of a covered-components inner list. The error says what was expected.
    pub(crate) fn from_item(item: &Item) -> Result<ComponentId, String> {
        ComponentId::from_owned_item(item.clone())
    }

    /// [`from_item`](Self::from_item) of an item the caller gives up (no copy).
    pub(crate) fn from_owned_item(item: Item) -> Result<ComponentId, String> {
        let BareItem::String(name) = &item.bare_item else {
            return Err(format!(
                "expected a quoted component name, found {}",
                kind(&item.bare_item)
            ));
        };
        let name = name.as_str();
        let source = if name.starts_with('@') {
            derived_source(name, &item)?
        } else {
            field_source(name, &item)?
        };
        Ok(ComponentId { item, source })
    }

    /// A derived component without parameters (`@method`, `@target-uri`), built without
    /// parsing: what [`ComponentId::parse`] makes of its name.
    pub(crate) fn derived(d: Derived) -> ComponentId {
        debug_assert!(
            d != Derived::QueryParam,
            "@query-param needs its name parameter"
        );
        let name = DERIVED
            .iter()
            .find(|(_, x)| *x == d)
            .map_or("", |(n, _)| *n);
        ComponentId {
            item: Item::new(sfv::StringRef::constant(name)),
            source: Source::Derived(d, None),
        }
    }

    /// Parses an identifier written as in `Signature-Input` but with the name unquoted, as
    /// key sets and the CLI take them: `@method`, `content-type;sf`, `@query-param;name="id"`.
    ///
    /// # Errors
    /// A message naming what is wrong with the identifier.
    pub fn parse(text: &str) -> Result<ComponentId, String> {
        let text = text.trim();
        let (name, params) = text.split_at(text.find(';').unwrap_or(text.len()));
        if name.is_empty() {
            return Err("empty component identifier".to_string());
        }
        if name
            .bytes()
            .any(|b| b == b'"' || b == b'\\' || !(0x21..0x7f).contains(&b))
        {
            return Err(format!("invalid character in component name {name:?}"));
        }
        let item: Item = Parser::new(&format!("\"{name}\"{params}"))
            .parse()
            .map_err(|e| format!("invalid parameters in component {text:?}: {e}"))?;
        ComponentId::from_owned_item(item).map_err(|e| format!("component {text:?}: {e}"))
    }

    /// The component name: `@method`, `content-digest`.
    pub fn name(&self) -> &str {
        match &self.item.bare_item {
            BareItem::String(s) => s.as_str(),
            _ => "",
        }
    }

    /// Whether this is a plain coverage of header field `field` (lower-case), or a structured
    /// or byte-sequence one: each covers the whole field value.
    pub(crate) fn covers_whole_field(&self, field: &str) -> bool {
        matches!(&self.source, Source::Field(n, mode) if n == field && !matches!(mode, FieldMode::Member(_)))
    }
}

fn derived_source(name: &str, item: &Item) -> Result<Source, String> {
    let Some(&(_, d)) = DERIVED.iter().find(|(n, _)| *n == name) else {
        return Err(match name {
            "@signature-params" => {
                "\"@signature-params\" must not be listed as a covered component".to_string()
            }
            "@status" => "\"@status\" applies to responses, not requests".to_string(),
            _ => format!("unknown derived component {name:?}"),
        });
    };
    let mut query_name = None;
    for (k, v) in &item.params {
        match (k.as_str(), d) {
            ("name", Derived::QueryParam) => match v {
                BareItem::String(s) => query_name = Some(s.as_str().to_string()),
                other => {
                    return Err(format!(
                        "parameter \"name\" of {name:?} must be a string, found {}",
                        kind(other)
                    ));
                }
            },
            ("req", _) => return Err(req_refused(name)),
            (p, _) => return Err(format!("unsupported parameter {p:?} on {name:?}")),
        }
    }
    if d == Derived::QueryParam && query_name.is_none() {
        return Err("\"@query-param\" needs a \"name\" parameter".to_string());
    }
    Ok(Source::Derived(d, query_name))
}

fn req_refused(name: &str) -> String {
    format!("parameter \"req\" on {name:?} applies only to signed responses")
}

fn field_source(name: &str, item: &Item) -> Result<Source, String> {
    if name.is_empty() {
        return Err("empty component name".to_string());
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "field component names are lower-case: write {:?}",
            name.to_ascii_lowercase()
        ));
    }
    if !crate::request::is_token(name) {
        return Err(format!("{name:?} is not a field name"));
    }
    let (mut sf, mut bs, mut key) = (false, false, None);
    for (k, v) in &item.params {
        let flag = |p: &str| match v {
            BareItem::Boolean(true) => Ok(true),
            other => Err(format!(
                "parameter {p:?} on {name:?} takes no value, found {}",
                kind(other)
            )),
        };
        match k.as_str() {
            "sf" => sf = flag("sf")?,
            "bs" => bs = flag("bs")?,
            "key" => match v {
                BareItem::String(s) => key = Some(s.as_str().to_string()),
                other => {
                    return Err(format!(
                        "parameter \"key\" on {name:?} must be a string, found {}",
                        kind(other)
                    ));
                }
            },
            "req" => return Err(req_refused(name)),
            "tr" => {
                return Err(format!(
                    "trailer fields are not supported (\"tr\" on {name:?})"
                ));
            }
            p => return Err(format!("unsupported parameter {p:?} on {name:?}")),
        }
    }
    let mode = match (sf, bs, key) {
        (_, true, Some(_)) | (true, true, None) => {
            return Err(format!(
                "parameter \"bs\" on {name:?} cannot be combined with \"sf\" or \"key\""
            ));
        }
        (_, false, Some(k)) => FieldMode::Member(k),
        (true, false, None) => {
            if structured_type(name).is_none() {
                return Err(format!(
                    "the structured type of field {name:?} is not known; cover it without \"sf\""
                ));
            }
            FieldMode::Structured
        }
        (false, true, None) => FieldMode::Binary,
        (false, false, None) => FieldMode::Plain,
    };
    Ok(Source::Field(name.to_string(), mode))
}

/// The structured type of a known header field (RFC 9651 §2), for `;sf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SfType {
    Dictionary,
    List,
    Item,
}

/// Header fields registered with a structured type (IANA HTTP Field Name registry).
const STRUCTURED: &[(&str, SfType)] = &[
    ("accept-ch", SfType::List),
    ("accept-signature", SfType::Dictionary),
    ("cache-status", SfType::List),
    ("cdn-cache-control", SfType::Dictionary),
    ("client-cert", SfType::Item),
    ("client-cert-chain", SfType::List),
    ("content-digest", SfType::Dictionary),
    ("cross-origin-embedder-policy", SfType::Item),
    ("cross-origin-opener-policy", SfType::Item),
    ("document-policy", SfType::Dictionary),
    ("origin-agent-cluster", SfType::Item),
    ("permissions-policy", SfType::Dictionary),
    ("priority", SfType::Dictionary),
    ("proxy-status", SfType::List),
    ("repr-digest", SfType::Dictionary),
    ("reporting-endpoints", SfType::Dictionary),
    ("sec-fetch-dest", SfType::Item),
    ("sec-fetch-mode", SfType::Item),
    ("sec-fetch-site", SfType::Item),
    ("sec-fetch-user", SfType::Item),
    ("signature", SfType::Dictionary),
    ("signature-input", SfType::Dictionary),
    ("unencoded-digest", SfType::Dictionary),
    ("want-content-digest", SfType::Dictionary),
    ("want-repr-digest", SfType::Dictionary),
];

pub(crate) fn structured_type(name: &str) -> Option<SfType> {
    STRUCTURED.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        ComponentId::parse(text).unwrap_err()
    }

    #[test]
    fn derived_is_what_parse_makes() {
        for (name, d) in DERIVED {
            if d == Derived::QueryParam {
                // Needs a `name` parameter: never built without one.
                assert!(ComponentId::parse(name).is_err());
                continue;
            }
            let built = ComponentId::derived(d);
            let parsed = ComponentId::parse(name).unwrap();
            assert_eq!(built, parsed, "{name}");
            assert_eq!(built.item, parsed.item, "{name}");
            assert_eq!(built.to_string(), format!("\"{name}\""));
        }
    }

    #[test]
    fn written_as_serialized() {
        for text in [
            "@method",
            "@target-uri",
            "content-digest",
            "content-digest;sf",
            "@query-param;name=\"a\"",
            "example-dict;key=\"a\"",
            "x-bin;bs",
        ] {
            let c = ComponentId::parse(text).unwrap();
            let mut out = String::new();
            c.write_to(&mut out);
            assert_eq!(out, c.item.serialize(), "{text}");
        }
    }

    #[test]
    fn unquoted_reads_back_as_itself() {
        for c in [
            "@method",
            "@query-param;name=\"id\"",
            "example-dict;key=\"a\"",
            "content-digest;sf",
            "x-thing;bs",
        ] {
            assert_eq!(ComponentId::parse(c).unwrap().unquoted(), c);
        }
    }

    #[test]
    fn parses_and_serializes() {
        for t in [
            "@method",
            "@target-uri",
            "content-digest",
            "content-type",
            "@query-param;name=\"Pet\"",
            "example-dict;key=\"a\"",
            "content-digest;sf",
            "x-thing;bs",
            "signature;key=\"sig1\"",
        ] {
            let c = ComponentId::parse(t).unwrap();
            let (name, params) = t.split_at(t.find(';').unwrap_or(t.len()));
            assert_eq!(c.to_string(), format!("\"{name}\"{params}"));
            assert_eq!(c.name(), name);
        }
    }

    #[test]
    fn equality_ignores_parameter_order() {
        let a = ComponentId::parse("signature;key=\"a\";sf").unwrap();
        let b = ComponentId::parse("signature;sf;key=\"a\"").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, ComponentId::parse("signature;key=\"b\"").unwrap());
        assert_ne!(
            ComponentId::parse("content-digest").unwrap(),
            ComponentId::parse("content-digest;sf").unwrap()
        );
    }

    #[test]
    fn refusals_say_why() {
        assert!(err("@nope").contains("unknown derived component"));
        assert!(err("@status").contains("responses"));
        assert!(err("@signature-params").contains("must not be listed"));
        assert!(err("@method;req").contains("signed responses"));
        assert!(err("@query-param").contains("needs a \"name\""));
        assert!(err("@query-param;name=a").contains("must be a string"));
        assert!(err("@path;foo").contains("unsupported parameter"));
        assert!(err("Content-Type").contains("lower-case"));
        assert!(err("x;tr").contains("trailer"));
        assert!(err("x;bs;sf").contains("cannot be combined"));
        assert!(err("x;sf=?0").contains("takes no value"));
        assert!(err("x-unknown;sf").contains("not known"));
        assert!(err("x;zz").contains("unsupported parameter"));
        assert!(err("").contains("empty"));
        assert!(err("a\"b").contains("invalid character"));
        assert!(err("a;=").contains("invalid parameters"));
    }

    #[test]
    fn non_string_names_are_refused() {
        let item: Item = Parser::new("method").parse().unwrap();
        assert!(
            ComponentId::from_item(&item)
                .unwrap_err()
                .contains("found a token")
        );
    }
}

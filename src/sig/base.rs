//! The signature base (RFC 9421 §2.5): one line per covered component, then the
//! `@signature-params` line, joined by LF with no final newline.

use sfv::{FieldType, InnerList, List, ListEntry};

use super::components::ComponentId;
use super::derive::{self, FieldCache};
use crate::request::Request;

/// The `@signature-params` value: the covered components and parameters serialized as an
/// Inner List (RFC 9421 §2.3), exactly as `Signature-Input` carries them.
pub(crate) fn params_value(inner: &InnerList) -> String {
    let list: List = vec![ListEntry::InnerList(inner.clone())];
    list.serialize().unwrap_or_default()
}

/// Builds the signature base for `components` over `req`. An error means a component cannot
/// be derived from this request, so no signature base exists.
pub(crate) fn signature_base(
    components: &[ComponentId],
    params_value: &str,
    req: &Request,
    fields: &FieldCache,
) -> Result<String, String> {
    let mut out = String::with_capacity(64 * (components.len() + 1));
    for c in components {
        let value = derive::value(c, req, fields)?;
        out.push_str(&c.to_string());
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out.push_str("\"@signature-params\": ");
    out.push_str(params_value);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use sfv::Parser;

    use super::*;

    #[test]
    fn rfc9421_section_2_5_example() {
        let req = Request::new("POST", "https://example.com/foo?param=Value&Pet=dog")
            .unwrap()
            .with_header("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
            .with_header("Content-Type", "application/json")
            .with_header("Content-Length", "18");
        let input = "(\"@method\" \"@authority\" \"@path\" \"content-length\" \"content-type\");created=1618884473;keyid=\"test-key-rsa-pss\"";
        let list: List = Parser::new(input).parse().unwrap();
        let ListEntry::InnerList(inner) = &list[0] else {
            panic!("not an inner list")
        };
        let components: Vec<ComponentId> = inner
            .items
            .iter()
            .map(|i| ComponentId::from_item(i).unwrap())
            .collect();
        let base = signature_base(
            &components,
            &params_value(inner),
            &req,
            &FieldCache::default(),
        )
        .unwrap();
        assert_eq!(
            base,
            "\"@method\": POST\n\"@authority\": example.com\n\"@path\": /foo\n\"content-length\": 18\n\"content-type\": application/json\n\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-length\" \"content-type\");created=1618884473;keyid=\"test-key-rsa-pss\""
        );
        // Parameters keep their order; whitespace is canonicalized.
        let list: List = Parser::new("(  \"@path\"   );keyid=\"k\";created=1")
            .parse()
            .unwrap();
        let ListEntry::InnerList(inner) = &list[0] else {
            panic!("not an inner list")
        };
        assert_eq!(params_value(inner), "(\"@path\");keyid=\"k\";created=1");
    }
}

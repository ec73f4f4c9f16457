//! The signature base (RFC 9421 §2.5): one line per covered component, then the
//! `@signature-params` line, joined by LF with no final newline.

use sfv::{InnerList, ListSerializer};

use super::components::ComponentId;
use super::derive::{self, FieldCache};
use crate::request::Request;

/// The `@signature-params` value: the covered components and parameters serialized as an
/// Inner List (RFC 9421 §2.3), exactly as `Signature-Input` carries them.
pub(crate) fn params_value(inner: &InnerList) -> String {
    let mut out = String::new();
    write_params_value(inner, &mut out);
    out
}

/// [`params_value`], appended to `out`.
fn write_params_value(inner: &InnerList, out: &mut String) {
    let mut list = ListSerializer::with_buffer(out);
    let mut members = list.inner_list();
    members.items(&inner.items);
    members.finish().parameters(&inner.params);
}

/// Builds the signature base for `components` over `req`. An error means a component cannot
/// be derived from this request, so no signature base exists.
pub(crate) fn signature_base(
    components: &[ComponentId],
    params: &str,
    req: &Request,
    fields: &FieldCache,
) -> Result<String, String> {
    let mut out = String::with_capacity(64 * (components.len() + 1));
    for c in components {
        c.write_to(&mut out);
        out.push_str(": ");
        derive::write_value(c, req, fields, &mut out)?;
        out.push('\n');
    }
    out.push_str("\"@signature-params\": ");
    out.push_str(params);
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
        let list: sfv::List = Parser::new(input).parse().unwrap();
        let sfv::ListEntry::InnerList(inner) = &list[0] else {
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
        let list: sfv::List = Parser::new("(  \"@path\"   );keyid=\"k\";created=1")
            .parse()
            .unwrap();
        let sfv::ListEntry::InnerList(inner) = &list[0] else {
            panic!("not an inner list")
        };
        assert_eq!(params_value(inner), "(\"@path\");keyid=\"k\";created=1");
    }
}

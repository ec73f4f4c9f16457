//! A fast reading of `Signature-Input` and `Signature` when both are in the canonical shape
//! signers write: one field line each, members `label=("@method" "@target-uri");created=1;
//! keyid="k"` and `label=:base64:`, nothing that needs an escape, a parameter only once.
//!
//! It never decides anything the general reading (`parse.rs`, through `sfv`) would decide
//! otherwise: it answers only when every member is well formed and every label matches, and
//! then with exactly what the general reading yields; on anything else (another shape, a
//! duplicate, a missing parameter, a parameter of another type, an escape, a leading zero,
//! a second field line) it answers `None` and the general reading runs. The Structured Field
//! grammar it accepts is a subset of RFC 9651's, written the way RFC 9651 §4.1 serializes it,
//! so the `@signature-params` value is the member as sent, with no re-serialization
//! (`tests` compare both readings on generated and hand-written fields).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sfv::{BareItem, Item, StringRef};

use super::components::{ComponentId, unescaped_string_byte};
use super::parse::{MAX_COMPONENTS, MAX_SIGNATURES, Parsed, Presented, SignatureParams};
use crate::request::Request;

/// Byte sequences as `sfv` decodes them (standard alphabet, padding optional, trailing bits
/// allowed), so both readings yield the same signature bytes.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Most parameters a member may carry here (more goes to the general reading).
const MAX_PARAMS: usize = 16;

/// A cursor over one field value.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    fn done(&self) -> bool {
        self.at == self.s.len()
    }

    /// The bytes while `f` holds.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(&f) {
            self.at += 1;
        }
        &self.s[start..self.at]
    }

    /// An RFC 9651 key.
    fn key(&mut self) -> Option<&'a str> {
        let first = self.peek()?;
        if !(first.is_ascii_lowercase() || first == b'*') {
            return None;
        }
        Some(self.take_while(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'.')
        }))
    }

    /// A String with no escape (printable ASCII but `"` and `\`): its content.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let s = self.take_while(unescaped_string_byte);
        self.eat(b'"')?;
        Some(s)
    }

    /// An Integer as RFC 9651 serializes it (no leading zero, no `-0`, at most 15 digits).
    fn integer(&mut self) -> Option<i64> {
        let negative = self.eat(b'-').is_some();
        let digits = self.take_while(|c| c.is_ascii_digit());
        let canonical = match digits.len() {
            1 => !(negative && digits == "0"),
            2..=15 => !digits.starts_with('0'),
            _ => false,
        };
        if !canonical || self.peek() == Some(b'.') {
            return None;
        }
        let v: i64 = digits.parse().ok()?;
        Some(if negative { -v } else { v })
    }

    /// After a member: the end, or a comma with optional spaces before the next member.
    fn separator(&mut self) -> Option<bool> {
        if self.done() {
            return Some(false);
        }
        self.eat(b',')?;
        self.take_while(|c| c == b' ');
        (!self.done()).then_some(true)
    }
}

/// A parameter value this reading takes.
enum Value<'a> {
    Int(i64),
    Str(&'a str),
}

/// One `Signature-Input` member.
struct Input<'a> {
    label: &'a str,
    /// The inner list and its parameters, as sent (canonical).
    text: &'a str,
    names: Vec<&'a str>,
    params: Vec<(&'a str, Value<'a>)>,
}

fn input_member<'a>(c: &mut Cursor<'a>) -> Option<Input<'a>> {
    let label = c.key()?;
    c.eat(b'=')?;
    let start = c.at;
    c.eat(b'(')?;
    let mut names = Vec::new();
    if c.eat(b')').is_none() {
        loop {
            names.push(c.string()?);
            if c.eat(b')').is_some() {
                break;
            }
            c.eat(b' ')?;
            if names.len() >= MAX_COMPONENTS {
                return None;
            }
        }
    }
    let mut params: Vec<(&str, Value)> = Vec::new();
    while c.eat(b';').is_some() {
        let k = c.key()?;
        c.eat(b'=')?;
        let v = if c.peek() == Some(b'"') {
            Value::Str(c.string()?)
        } else {
            Value::Int(c.integer()?)
        };
        if params.len() >= MAX_PARAMS || params.iter().any(|(p, _)| *p == k) {
            return None;
        }
        params.push((k, v));
    }
    Some(Input {
        label,
        text: &c.s[start..c.at],
        names,
        params,
    })
}

fn signature_member<'a>(c: &mut Cursor<'a>) -> Option<(&'a str, Vec<u8>)> {
    let label = c.key()?;
    c.eat(b'=')?;
    c.eat(b':')?;
    let b64 = c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    c.eat(b':')?;
    Some((label, BASE64.decode(b64).ok()?))
}

/// The one field line of `name`, if it has exactly one.
fn one_line<'r>(req: &'r Request, name: &'static str) -> Option<&'r str> {
    let mut lines = req.header_values(name);
    let line = lines.next()?;
    lines.next().is_none().then_some(line)
}

/// A member whose every check passes, as `parse::parse_member` would make it.
fn parsed(input: &Input<'_>, signature: Vec<u8>) -> Option<Parsed> {
    let mut components: Vec<ComponentId> = Vec::with_capacity(input.names.len());
    for name in &input.names {
        let item = Item::new(BareItem::String(StringRef::from_str(name).ok()?.to_owned()));
        let c = ComponentId::from_owned_item(item).ok()?;
        if components.contains(&c) {
            return None;
        }
        components.push(c);
    }
    let mut p = SignatureParams::default();
    for (k, v) in &input.params {
        match (*k, v) {
            ("created", Value::Int(i)) => p.created = Some(*i),
            ("expires", Value::Int(i)) => p.expires = Some(*i),
            ("nonce", Value::Str(s)) => p.nonce = Some((*s).to_string()),
            ("alg", Value::Str(s)) => p.alg = Some((*s).to_string()),
            ("keyid", Value::Str(s)) => p.keyid = Some((*s).to_string()),
            ("tag", Value::Str(s)) => p.tag = Some((*s).to_string()),
            ("created" | "expires" | "nonce" | "alg" | "keyid" | "tag", _) => return None,
            _ => {}
        }
    }
    let created = p.created?;
    if p.expires.is_some_and(|e| e < created) || p.keyid.is_none() {
        return None;
    }
    Some(Parsed {
        components,
        params: p,
        params_text: input.text.to_string(),
        signature,
    })
}

/// The signatures `req` presents, when both fields are canonical and every member is well
/// formed; `None` otherwise (then `parse::presented` reads them the general way).
pub(super) fn presented(req: &Request) -> Option<Vec<Presented>> {
    let mut c = Cursor {
        s: one_line(req, "signature-input")?,
        at: 0,
    };
    let mut inputs: Vec<Input> = Vec::with_capacity(1);
    loop {
        let m = input_member(&mut c)?;
        if inputs.len() >= MAX_SIGNATURES || inputs.iter().any(|i| i.label == m.label) {
            return None;
        }
        inputs.push(m);
        if !c.separator()? {
            break;
        }
    }
    let mut c = Cursor {
        s: one_line(req, "signature")?,
        at: 0,
    };
    let mut sigs: Vec<Option<(&str, Vec<u8>)>> = Vec::with_capacity(inputs.len());
    loop {
        let m = signature_member(&mut c)?;
        if sigs.len() >= inputs.len() || sigs.iter().flatten().any(|(l, _)| *l == m.0) {
            return None;
        }
        sigs.push(Some(m));
        if !c.separator()? {
            break;
        }
    }
    // As many signatures as inputs, all distinct: each input must find its own.
    if sigs.len() != inputs.len() {
        return None;
    }
    let mut out = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let (_, signature) = sigs
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|(l, _)| *l == input.label))?
            .take()?;
        let parsed = parsed(input, signature)?;
        out.push(Presented {
            label: input.label.to_string(),
            keyid: parsed.params.keyid.clone(),
            parsed: Ok(parsed),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::parse::presented_general;

    fn req(lines: &[(&str, &str)]) -> Request {
        let mut r = Request::new("GET", "https://h/").unwrap();
        for (n, v) in lines {
            r.push_header(n, v);
        }
        r
    }

    /// The fast reading, and what the general reading says of the same request. Whenever the
    /// fast reading answers, it must be exactly the general one.
    fn both(input: &str, sig: &str) -> (Option<String>, String) {
        let r = req(&[("Signature-Input", input), ("Signature", sig)]);
        let general = format!("{:?}", presented_general(&r));
        let fast = presented(&r).map(|p| format!("{:?}", Ok::<_, String>(Some(p))));
        if let Some(f) = &fast {
            assert_eq!(f, &general, "{input:?} / {sig:?}");
        }
        (fast, general)
    }

    #[test]
    fn canonical_fields_read_as_the_general_reading_does() {
        for (input, sig) in [
            (
                r#"sig1=("@method" "@target-uri");created=1618884473;keyid="test-key";alg="hmac-sha256""#,
                "sig1=:AQIDBA==:",
            ),
            (
                r#"a=();created=-5;keyid="k", b=("content-digest" "@path");created=7;expires=9;nonce="n 1";tag="t";x=3;y="z";keyid="k2""#,
                "b=:AA==:,a=:AQID:",
            ),
            (r#"*x.y-z_1=("@query");keyid="";created=0"#, "*x.y-z_1=::"),
            (
                r#"a=("@authority");created=999999999999999;keyid="k""#,
                "a=:AQ:",
            ),
            (r#"a=("@scheme");created=1;keyid="k""#, "a=:AB==:"),
        ] {
            let (fast, general) = both(input, sig);
            assert!(fast.is_some(), "{input:?} / {sig:?}: {general}");
        }
        // The @signature-params value is the member as sent (RFC 9651's own serialization).
        let r = req(&[
            (
                "Signature-Input",
                r#"s=("@method");created=1;keyid="k";x="y""#,
            ),
            ("Signature", "s=:AA==:"),
        ]);
        let p = presented(&r).unwrap();
        let parsed = p[0].parsed.as_ref().unwrap();
        assert_eq!(
            parsed.params_text,
            r#"("@method");created=1;keyid="k";x="y""#
        );
    }

    #[test]
    fn other_shapes_are_left_to_the_general_reading() {
        for (input, sig) in [
            // Not what RFC 9651 serializes: the general reading re-serializes these.
            (r#"a=("@method");created=01;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=-0;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method"  "@path");created=1;keyid="k""#, "a=:AA==:"),
            (r#"a=( "@method");created=1;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k";x=?1"#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k";x"#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k";x=tok"#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k";x=1.5"#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k\"q""#, "a=:AA==:"),
            (r#"a=("@method";req);created=1;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=1; keyid="k""#, "a=:AA==:"),
            // Duplicates: parameters (the last one counts), labels (refused).
            (r#"a=("@method");created=1;created=2;keyid="k""#, "a=:AA==:"),
            (
                r#"a=("@method");created=1;keyid="k", a=();created=1;keyid="k""#,
                "a=:AA==:",
            ),
            (r#"a=("@method");created=1;keyid="k""#, "a=:AA==:, a=:AA==:"),
            // Faults the general reading reports, each in its own words.
            (r#"a=("@method");keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=1"#, "a=:AA==:"),
            (r#"a=("@method");created="1";keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=5;expires=4;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method" "@method");created=1;keyid="k""#, "a=:AA==:"),
            (r#"a=("@foo");created=1;keyid="k""#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k""#, "b=:AA==:"),
            (r#"a=("@method");created=1;keyid="k""#, "a=:!!:"),
            (r#"a=("@method");created=1;keyid="k""#, "a=:AA==:;p=1"),
            (r#"a=("@method");created=1;keyid="k""#, "a=1"),
            (r#"a=1"#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k","#, "a=:AA==:"),
            (r#"a=("@method");created=1;keyid="k" ,b=()"#, "a=:AA==:"),
            (r#"A=("@method");created=1;keyid="k""#, "A=:AA==:"),
            ("", ""),
        ] {
            let (fast, general) = both(input, sig);
            assert!(fast.is_none(), "{input:?} / {sig:?}: {general}");
        }
        // Two field lines, each canonical: combined by the general reading.
        let r = req(&[
            ("Signature-Input", r#"a=("@method");created=1;keyid="k""#),
            ("Signature-Input", r#"b=();created=1;keyid="k""#),
            ("Signature", "a=:AA==:, b=:AA==:"),
        ]);
        assert!(presented(&r).is_none());
        assert_eq!(presented_general(&r).unwrap().unwrap().len(), 2);
        // Nine labels: more than a request may carry.
        let labels: Vec<String> = (0..9)
            .map(|i| format!("s{i}=();created=1;keyid=\"k\""))
            .collect();
        let sigs: Vec<String> = (0..9).map(|i| format!("s{i}=:AA==:")).collect();
        assert!(both(&labels.join(", "), &sigs.join(", ")).0.is_none());
    }

    /// Fields assembled at random from canonical and non-canonical pieces: wherever the fast
    /// reading answers, the general reading says exactly the same.
    #[test]
    fn random_fields_read_the_same_both_ways() {
        const LABELS: [&str; 5] = ["a", "sig1", "*x", "b.c", "a"];
        const COMPONENTS: [&str; 9] = [
            r#""@method""#,
            r#""@target-uri""#,
            r#""content-digest""#,
            r#""@path""#,
            r#""@method";req"#,
            r#""@bogus""#,
            r#""x-a""#,
            r#""Upper""#,
            r#""@query-param";name="a""#,
        ];
        const PARAMS: [&str; 16] = [
            "created=1618884473",
            "created=0",
            "created=007",
            "created=\"1\"",
            "expires=1618884500",
            "expires=-1",
            "keyid=\"k\"",
            "keyid=k",
            "alg=\"hmac-sha256\"",
            "nonce=\"n\"",
            "tag=\"t\"",
            "x=?1",
            "y",
            "z=1.5",
            "created=-0",
            "w=\"a\\\\b\"",
        ];
        const SEPS: [&str; 5] = [", ", ",", " , ", ",  ", ",\t"];
        const SIGS: [&str; 6] = [":AQIDBA==:", ":AQ:", ":AB==:", ":!!:", "1", ":AA==:;p"];
        let mut rng = crate::test_util::XorShift::new(crate::test_util::XorShift::SEED);
        let mut next = |n: usize| rng.below(n);
        let (mut fast_answers, mut left) = (0, 0);
        for _ in 0..20_000 {
            let members = 1 + next(3);
            // Mostly distinct labels, mostly signed under the same labels, mostly with the
            // parameters a member needs: the fast reading gets to answer often.
            let labels: Vec<&str> = (0..members)
                .map(|m| {
                    if next(10) == 0 {
                        LABELS[next(LABELS.len())]
                    } else {
                        LABELS[m]
                    }
                })
                .collect();
            let (mut input, mut sig) = (String::new(), String::new());
            for (m, label) in labels.iter().enumerate() {
                if m > 0 {
                    input.push_str(if next(4) == 0 {
                        SEPS[next(SEPS.len())]
                    } else {
                        ", "
                    });
                }
                input.push_str(label);
                input.push_str("=(");
                let comps: Vec<&str> = (0..next(4))
                    .map(|_| {
                        COMPONENTS[if next(2) == 0 {
                            next(COMPONENTS.len())
                        } else {
                            next(3)
                        }]
                    })
                    .collect();
                input.push_str(&comps.join(if next(8) == 0 { "  " } else { " " }));
                input.push(')');
                let mut params: Vec<&str> =
                    (0..next(3)).map(|_| PARAMS[next(PARAMS.len())]).collect();
                if next(4) != 0 {
                    params.insert(next(params.len() + 1), "created=1618884473");
                    params.insert(next(params.len() + 1), "keyid=\"k\"");
                }
                for p in params {
                    input.push(';');
                    input.push_str(p);
                }
            }
            let mut order: Vec<&str> = labels.clone();
            if next(6) == 0 {
                order.push(LABELS[next(LABELS.len())]);
            }
            for i in (1..order.len()).rev() {
                order.swap(i, next(i + 1));
            }
            for (m, label) in order.iter().enumerate() {
                if m > 0 {
                    sig.push_str(if next(4) == 0 {
                        SEPS[next(SEPS.len())]
                    } else {
                        ", "
                    });
                }
                sig.push_str(label);
                sig.push('=');
                sig.push_str(SIGS[if next(2) == 0 { next(SIGS.len()) } else { 0 }]);
            }
            match both(&input, &sig).0 {
                Some(_) => fast_answers += 1,
                None => left += 1,
            }
        }
        // Both kinds of field were met often (the comparison above is not empty).
        assert!(fast_answers > 100 && left > 100, "{fast_answers} / {left}");
    }
}

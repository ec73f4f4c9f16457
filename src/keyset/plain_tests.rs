//! The plain reader beside the general reading: wherever it answers, it answers exactly what
//! the general reading does (the same set, or the same errors), and it leaves every shape it
//! does not take to the general reading.

use super::super::parse::{Mode, run};
use super::super::summary::show;
use crate::seal::Unseal;
use crate::test_util::XorShift;

/// The plain reading's answer, after checking it against the general reading (the fast
/// typed pass, then the slow one, as `parse` ran them before the plain reader existed).
fn both(doc: &[u8]) -> Option<String> {
    let general = run(doc, Mode::Fast, Unseal::Refuse)
        .or_else(|| run(doc, Mode::Slow, Unseal::Refuse))
        .expect("the slow pass always answers");
    let plain = run(doc, Mode::Plain, Unseal::Refuse)?;
    let (plain, general) = (show(&plain), show(&general));
    assert_eq!(plain, general, "{}", String::from_utf8_lossy(doc));
    Some(plain)
}

const H: &str = "sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8";
const H2: &str = "sha256:kX7g4eihPy3mfGy1EFWuediztnvz-i2Bv1r-bB4-47M";

fn doc(keys: &str) -> String {
    format!(r#"{{"keygate":1,"revision":2,"keys":[{keys}]}}"#)
}

#[test]
fn documents_in_the_usual_shape_are_read_plainly() {
    let mut docs: Vec<String> = [
        include_str!("../../tests/vectors/keysets/valid_full.json"),
        include_str!("../../tests/vectors/keysets/valid_minimal.json"),
        include_str!("../../tests/vectors/keysets/valid_deny_default.json"),
        include_str!("../../tests/vectors/keysets/valid_stale.json"),
        include_str!("../../tests/vectors/keysets/valid_jwk_members.json"),
        include_str!("../../tests/vectors/keysets/valid_webhooks.json"),
        include_str!("../../tests/vectors/keysets/valid_audience.json"),
        include_str!("../../tests/vectors/keysets/invalid_bad_cidrs.json"),
        include_str!("../../tests/vectors/keysets/invalid_bad_digest.json"),
        include_str!("../../tests/vectors/keysets/invalid_duplicate_id.json"),
        include_str!("../../tests/vectors/keysets/invalid_duplicate_digest.json"),
        include_str!("../../tests/vectors/keysets/invalid_bad_times.json"),
        include_str!("../../demo/keyset.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    docs.extend([
        // Escapes (decoded, owned), raw UTF-8, a member name written with an escape.
        doc(&format!(
            r#"{{"\u0069d":"a","api_key_hash":"{H}","name":"caf\u00e9 \"q\" \/ \\ \b\f\n\r\t \ud83d\ude00 é ☃","scopes":["orders:\u0072ead"]}}"#
        )),
        // Semantic faults without a fault of type or syntax: reported the same way.
        doc(&format!(
            r#"{{"id":"a","api_key_hash":"{H}","allow_cidrs":["10.0.0.1/8"],"not_before":"2027-01-01T00:00:00Z","expires_at":"2026-01-01T00:00:00Z"}},{{"id":"a","api_key_hash":"{H2}"}},{{"id":"b","api_key_hash":"{H}","scopes":["x","x"]}}"#
        )),
        doc(r#"{"id":"bad id","api_key_hash":"sha256:AQID","status":"paused"},{}"#),
        // Whitespace everywhere JSON allows it.
        format!(
            " \t\r\n{{ \"keygate\" : 1 ,\n\"revision\":2, \"keys\" : [ \n{{ \"id\" :\t\"a\" , \"api_key_hash\" : \"{H}\" , \"scopes\" : [ ] , \"require_signature\" : false }} ] }}\r\n "
        ),
        r#"{"keygate":1,"revision":2,"keys":[]}"#.to_string(),
        r#"{}"#.to_string(),
        r#"{"keys":[ ]}"#.to_string(),
    ]);
    for d in docs {
        assert!(both(d.as_bytes()).is_some(), "{d}");
    }
    // Many keys, as large sets are written (repeated scope and network lists shared).
    let entries: Vec<String> = (0..300)
        .map(|i| {
            let d = crate::ApiKeyDigest::of(&format!("key-{i}"));
            let nets = if i % 10 == 0 {
                r#","allow_cidrs":["203.0.113.0/24","2001:db8::/32"]"#
            } else {
                ""
            };
            format!(
                r#"{{"id":"key-{i}","api_key_hash":"{d}","not_before":"2026-11-01T00:00:00Z","expires_at":"2027-01-31T00:00:00Z","scopes":["orders:read","orders:write"]{nets}}}"#
            )
        })
        .collect();
    let big = doc(&entries.join(","));
    assert!(both(big.as_bytes()).is_some_and(|s| !s.starts_with("ERR")));
}

#[test]
fn other_shapes_are_left_to_the_general_reading() {
    let nested = |levels: usize| {
        doc(&format!(
            r#"{{"id":"a","api_key_hash":"{H}","meta":{{"x":{}1{}}}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        ))
    };
    let docs = vec![
        // Not an object, or `keys` not an array.
        "[]".to_string(),
        "1".to_string(),
        r#"{"keygate":1,"revision":2,"keys":{}}"#.to_string(),
        // An entry that is not an object.
        doc(r#"["a"]"#),
        doc(&format!(r#"["a","{H}"]"#)),
        doc("null"),
        // Members the typed reader refuses: null, unknown, twice, of another type.
        doc(r#"{"id":"a","api_key_hash":null}"#),
        doc(r#"{"id":"a","expire_at":"x"}"#),
        doc(r#"{"id":"a","id":"b"}"#),
        doc(r#"{"id":"a","\u0069d":"b"}"#),
        doc(r#"{"id":"a","scopes":"x"}"#),
        doc(r#"{"id":1}"#),
        doc(r#"{"id":"a","require_signature":"true"}"#),
        doc(r#"{"id":"a","meta":{"x":1,"x":2}}"#),
        doc(r#"{"id":"a","meta":[]}"#),
        // Strings: a lone surrogate, a control character, a bad escape, invalid UTF-8.
        doc(r#"{"id":"\ud800"}"#),
        doc(r#"{"id":"\udc00\ud800"}"#),
        doc(r#"{"id":"\ud800\u0041"}"#),
        doc("{\"id\":\"a\tb\"}"),
        doc(r#"{"id":"\x"}"#),
        doc(r#"{"id":"\u00g0"}"#),
        // Syntax: trailing commas, missing separators, trailing bytes, truncation.
        doc(r#"{"id":"a",}"#),
        doc(r#"{"id":"a"},"#),
        doc(r#"{"id":"a","scopes":["x",]}"#),
        doc(r#"{"id" "a"}"#),
        format!("{} x", doc("")),
        doc("").trim_end_matches('}').to_string(),
        // Top-level members twice.
        r#"{"keygate":1,"keygate":1,"revision":2,"keys":[]}"#.to_string(),
        r#"{"keygate":1,"revision":2,"keys":[],"keys":[]}"#.to_string(),
        // Not JSON whitespace (a form feed, a no-break space, a byte order mark).
        "{\"keygate\":1,\u{c}\"revision\":2,\"keys\":[]}".to_string(),
        "{\"keygate\":1,\u{a0}\"revision\":2,\"keys\":[]}".to_string(),
        "\u{feff}{\"keygate\":1,\"revision\":2,\"keys\":[]}".to_string(),
        // Nesting near serde_json's limit (127 levels from the top: fine at 124 levels of
        // `meta`, refused at 125).
        nested(101),
        nested(124),
        nested(125),
    ];
    for d in &docs {
        assert!(both(d.as_bytes()).is_none(), "{d}");
    }
    // Invalid UTF-8 inside a string, alone and next to an escape.
    for raw in [
        &b"{\"keys\":[{\"id\":\"a\xff\"}]}"[..],
        b"{\"keys\":[{\"id\":\"\\n\xc3\"}]}",
        b"{\"keys\":[{\"id\":\"\xe2\x82\\u00ac\"}]}",
    ] {
        assert!(both(raw).is_none());
    }
    // Within the limit, serde_json reads the nested value and so does this reader.
    assert!(both(nested(100).as_bytes()).is_some());
    let general = run(nested(125).as_bytes(), Mode::Slow, Unseal::Refuse).unwrap();
    assert!(
        show(&general).contains("recursion limit"),
        "{}",
        show(&general)
    );
}

const HMAC: &str = r#"{"alg":"hmac-sha256","jwk":{"kty":"oct","k":"iGmQ-HM46wW8qpx9-pb9r-onT21BH53MZGC5yv1TW_7iWh0bTUyljx0fI8tS2G3oyuUy7ajla_Mwa4q1RiGGNw"}}"#;
const ED: &str = r#"{"alg":"ed25519","public_key":"K9Jn2DmIqu9mDvnBDuxSddGd7hau6ZEHZlWkcUwSuLo"}"#;

/// Members of a key entry, mostly well formed, some not in each way JSON and the typed
/// reader can differ.
fn member(g: &mut XorShift, id: usize) -> String {
    let ids = [
        "\"key-ID\"",
        "\"k\\u0065y-ID\"",
        "\"bad id\"",
        "\"\"",
        "1",
        "null",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"caf\u{e9}-ID\"",
    ];
    let (name, values): (&str, &[&str]) = match g.below(16) {
        0 | 1 => ("id", &ids),
        2 | 3 => (
            "api_key_hash",
            &[
                "\"HASH\"",
                "\"sha256:AQID\"",
                "\"sha256:QILgfQrM\\u005fpehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8\"",
                "5",
            ],
        ),
        4 => (
            "status",
            &[
                "\"active\"",
                "\"disabled\"",
                "\"revoked\"",
                "\"paused\"",
                "true",
            ],
        ),
        5 => (
            "not_before",
            &[
                "\"2026-11-01T00:00:00Z\"",
                "\"2027-02-01T00:00:00Z\"",
                "\"2026-13-01T00:00:00Z\"",
                "0",
            ],
        ),
        6 => (
            "expires_at",
            &[
                "\"2027-01-31T00:00:00Z\"",
                "\"2026-01-01T00:00:00+01:00\"",
                "[]",
            ],
        ),
        7 | 8 => (
            "scopes",
            &[
                "[\"orders:read\",\"orders:write\"]",
                "[ \"orders:read\" ]",
                "[]",
                "[\"a\",\"a\"]",
                "[\"*\"]",
                "[\"orders:\\u0072ead\"]",
                "[\"x\",]",
                "[\"x\" \"y\"]",
                "\"x\"",
                "[1]",
                "[null]",
                "[[\"x\"]]",
            ],
        ),
        9 => (
            "allow_cidrs",
            &[
                "[\"203.0.113.0/24\",\"2001:db8::/32\"]",
                "[\"10.0.0.1/8\"]",
                "[\"x\"]",
                "[]",
            ],
        ),
        10 => ("deny_cidrs", &["[\"203.0.113.128/25\"]", "[\"0.0.0.0/0\"]"]),
        11 => (
            "name",
            &[
                "\"CI pipeline\"",
                "\"\\\"quoted\\\" \\/ \\t\"",
                "\"x\\u0000y\"",
                "\"a\\qb\"",
                "\"\u{2603}\"",
            ],
        ),
        12 => (
            "meta",
            &[
                "{\"owner\":\"t\",\"n\":1}",
                "{\"a\":{\"b\":[1,2.5,-0,1e3,\"\\u00e9\"]},\"c\":null}",
                "{}",
                "{\"x\":1,\"x\":2}",
                "[]",
                "null",
                "{\"a\":1e400}",
                "{\"a\":01}",
            ],
        ),
        13 => (
            "signing",
            &[HMAC, ED, "{}", "\"x\"", "{\"alg\":\"hmac-sha256\"}"],
        ),
        14 => (
            "require_signature",
            &["true", "false", "\"true\"", "1", "null", "tru"],
        ),
        _ => match g.below(3) {
            0 => (
                "webhook",
                &[
                    "{\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}",
                    "{\"secret\":1}",
                ],
            ),
            1 => ("expire_at", &["\"x\""]),
            _ => ("\\u0069d", &ids),
        },
    };
    let value = if g.below(3) == 0 {
        g.pick(values)
    } else {
        values[0]
    };
    let hash = if id.is_multiple_of(2) { H } else { H2 };
    let value = value.replace("ID", &id.to_string()).replace("HASH", hash);
    format!("\"{name}\"{}:{}{value}", ws(g), ws(g))
}

/// Whitespace between tokens: mostly none or a space, sometimes what JSON does not allow.
fn ws(g: &mut XorShift) -> &'static str {
    match g.below(12) {
        0 => "\n  ",
        1 => "\t",
        2 => "\r\n",
        3 => " ",
        4 if g.below(20) == 0 => "\u{c}",
        5 if g.below(20) == 0 => "\u{a0}",
        _ => "",
    }
}

fn entry(g: &mut XorShift, id: usize) -> String {
    match g.below(40) {
        0 => return "[]".to_string(),
        1 => return "null".to_string(),
        _ => {}
    }
    let mut members = vec![
        format!("\"id\":\"key-{id}\""),
        format!(
            "\"api_key_hash\":\"{}\"",
            if id.is_multiple_of(2) { H } else { H2 }
        ),
    ];
    if g.below(6) == 0 {
        members.clear();
    }
    for _ in 0..g.below(4) {
        members.push(member(g, id));
    }
    for i in (1..members.len()).rev() {
        members.swap(i, g.below(i + 1));
    }
    let mut s = String::from("{");
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            s.push_str(ws(g));
            s.push(',');
        }
        s.push_str(ws(g));
        s.push_str(m);
    }
    s.push_str(ws(g));
    s.push('}');
    s
}

fn document(g: &mut XorShift) -> Vec<u8> {
    let mut top = vec![
        "\"keygate\":1".to_string(),
        format!("\"revision\":{}", g.pick(&["2", "1", "0", "2.0", "\"2\""])),
    ];
    for _ in 0..g.below(3) {
        top.push(
            g.pick(&[
                "\"issued_at\":\"2026-11-29T00:00:00Z\"",
                "\"routes\":[{\"methods\":[\"GET\"],\"path\":\"/v1/orders/**\",\"scopes\":[\"orders:read\"]}]",
                "\"policy\":{\"clock_skew_seconds\":30,\"default_route\":\"deny\"}",
                "\"deny_cidrs\":[\"203.0.113.0/24\"]",
                "\"audience\":\"api-prod\"",
                "\"revision\":3",
                "\"kind\":\"delta\"",
                "\"keys \":[]",
            ])
            .to_string(),
        );
    }
    let keys: Vec<String> = (0..g.below(5)).map(|i| entry(g, i % 4)).collect();
    let mut keys = format!("\"keys\":[{}{}]", keys.join(","), ws(g));
    if g.below(30) == 0 {
        keys = "\"keys\":{}".to_string();
    }
    top.insert(g.below(top.len() + 1), keys);
    let mut d = format!("{}{{{}}}{}", ws(g), top.join(","), ws(g)).into_bytes();
    // One mutation in four: a byte cut, dropped, inserted or a span repeated.
    match g.below(16) {
        0 => d.truncate(g.below(d.len())),
        1 => {
            d.remove(g.below(d.len()));
        }
        2 => {
            let b = [
                b'"', b',', b'\\', b'}', b']', b'[', b'{', b':', 0xff, 0xc3, 0, b'1',
            ][g.below(12)];
            d.insert(g.below(d.len() + 1), b);
        }
        3 => {
            let a = g.below(d.len());
            let b = (a + 1 + g.below(12)).min(d.len());
            let span = d[a..b].to_vec();
            d.splice(a..a, span);
        }
        _ => {}
    }
    d
}

/// Documents assembled at random from well-formed and faulty pieces, some then cut or
/// mutated: wherever the plain reading answers, the general reading says exactly the same.
#[test]
fn random_documents_read_the_same_both_ways() {
    let mut g = XorShift::new(0x9e37_79b9_7f4a_7c15);
    let (mut answered, mut left, mut accepted) = (0, 0, 0);
    for _ in 0..20_000 {
        let d = document(&mut g);
        match both(&d) {
            Some(s) => {
                answered += 1;
                accepted += usize::from(!s.starts_with("ERR"));
            }
            None => left += 1,
        }
    }
    eprintln!("{answered} answered ({accepted} valid) / {left} left");
    // Both kinds of document were met often, and valid sets among the answered ones.
    assert!(
        answered > 1000 && left > 1000 && accepted > 300,
        "{answered} answered ({accepted} valid) / {left} left"
    );
}

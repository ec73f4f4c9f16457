//! The scanner accepts exactly what serde_json accepts, and says where it stopped.

use super::*;

fn serde_ok(b: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(b).is_ok()
}

#[test]
fn agrees_with_serde_json_on_hand_picked_inputs() {
    let cases: &[&[u8]] = &[
        b"{}",
        b"[]",
        b"\"\"",
        b"0",
        b"-0",
        b"-0.5e+3",
        b"1E9",
        b"true",
        b"null",
        b" [ 1 , {\"a\" : [ ] } ] ",
        b"",
        b" ",
        b"{",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{1:2}",
        b"01",
        b"1.",
        b".5",
        b"-",
        b"1e",
        b"+1",
        b"tru",
        b"nul",
        b"[1] x",
        b"\"a\x01\"",
        b"\"\\x\"",
        b"\"\\u12\"",
        b"\"\\u00e9\"",
        b"\"\\ud83d\\ude00\"",
        b"\"\\ud83d\"",
        b"\"\\ude00\"",
        b"\"\\ud83dx\"",
        b"\"\xff\"",
        b"\"caf\xc3\xa9\"",
        b"1e400",
        b"-1e400",
        b"0e999",
        b"123456789012345678901234567890",
        b"\"unterminated",
        b"[\"a\\",
        b"{\"a\":1}}",
        b"[[],[[]]]",
        b"\t\r\n{\"x\":null}\n",
    ];
    for c in cases {
        assert_eq!(
            validate(c).is_ok(),
            serde_ok(c),
            "{:?}",
            String::from_utf8_lossy(c)
        );
    }
}

#[test]
fn nesting_limit_matches_serde_json() {
    for depth in [1usize, 126, 127, 128, 129, 1000] {
        let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(
            validate(doc.as_bytes()).is_ok(),
            serde_ok(doc.as_bytes()),
            "{depth}"
        );
        let objs = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert_eq!(
            validate(objs.as_bytes()).is_ok(),
            serde_ok(objs.as_bytes()),
            "{depth}"
        );
    }
    assert!(validate(format!("{}{}", "[".repeat(127), "]".repeat(127)).as_bytes()).is_ok());
}

#[test]
fn errors_name_a_byte_offset() {
    let e = validate(b"{\"a\": [1, 2,, 3]}").unwrap_err();
    assert_eq!(e.offset, 12);
    assert_eq!(e.to_string(), "expected a value at byte 12");
    assert_eq!(validate(b"[1] x").unwrap_err().offset, 4);
    assert_eq!(validate(b"\"ab\xffc\"").unwrap_err().offset, 3);
}

#[test]
fn strings_decode_and_compare() {
    let mut s = Scan::new(br#""p\u0061yload""#);
    let j = s.string().unwrap();
    assert!(j.is("payload"));
    assert!(!j.is("payloads"));
    assert_eq!(j.text(), "payload");
    for text in [
        r#""a\"b\\c\/d\b\f\n\r\t""#,
        r#""\u00e9\ud83d\ude00x\u0000""#,
        "\"caf\u{e9}\\n\"",
    ] {
        let mut s = Scan::new(text.as_bytes());
        let got = s.string().unwrap().text().into_owned();
        assert_eq!(got, serde_json::from_str::<String>(text).unwrap(), "{text}");
        assert_eq!(got.len(), got.capacity(), "{text}");
    }
    let mut s = Scan::new(br#""plain""#);
    assert!(matches!(s.string().unwrap().text(), Cow::Borrowed("plain")));
    let long = format!("\"{}\"", "x".repeat(100));
    let mut s = Scan::new(long.as_bytes());
    assert_eq!(s.string().unwrap().shown(8), "xxxxxxxx…");
}

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, .. Default::default() })]
    #[test]
    fn agrees_with_serde_json_on_json_shaped_noise(
        parts in proptest::collection::vec(proptest::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"a\"", "\"\\u00e9\"", "\"\\ud800\"", "1", "-2.5e3", "true",
            "null", " ", "\"", "\\", "x", "0", "01", "\u{e9}", "1e999",
        ]), 0..24)
    ) {
        let doc = parts.concat();
        proptest::prop_assert_eq!(validate(doc.as_bytes()).is_ok(), serde_ok(doc.as_bytes()), "{}", doc);
    }
}

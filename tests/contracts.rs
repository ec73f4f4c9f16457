//! Contracts stated in several places, held to the one source: every reason code of
//! `Reason::ALL` is in the TypeScript `ReasonCode` union and in the documented code tables, and
//! nothing else is; the same for the JS error codes (`ErrorCode::ALL`) and the wire codes of a
//! refused key set (`codes::KEYSET_WIRE_CODES`). `pkg/src/codes.js`, which the JS glue reads
//! them from, is generated here: `KEYGATE_BLESS=1 cargo test --test contracts` rewrites it, and
//! without that variable the test fails while the file is stale.
#![cfg(not(target_arch = "wasm32"))]

use keygate::codes::{KEYSET_WIRE_CODES, fingerprint};
use keygate::sig::ClaimKind;
use keygate::webhook::Scheme;
use keygate::{ErrorCode, Reason};

const DTS: &str = include_str!("../pkg/src/index.d.ts");
const REASONS_MD: &str = include_str!("../docs/reasons.md");
const SIGNATURES_MD: &str = include_str!("../docs/signatures.md");

/// The members of `export type NAME = | 'a' | 'b' ...;` (comments between members skipped).
fn ts_union(name: &str) -> Vec<String> {
    let start = DTS
        .find(&format!("export type {name} ="))
        .unwrap_or_else(|| panic!("index.d.ts declares {name}"));
    // Drop the `/* ... */` comments, then read up to the `;` that ends the declaration.
    let mut text = String::new();
    let mut rest = &DTS[start..];
    while let Some(open) = rest.find("/*") {
        text.push_str(&rest[..open]);
        rest = &rest[open..];
        rest = &rest[rest.find("*/").expect("closed comment") + 2..];
    }
    text.push_str(rest);
    let body = &text[..text.find(';').unwrap()];
    body.split('|')
        .skip(1)
        .map(|m| m.trim().trim_matches('\'').to_string())
        .collect()
}

#[test]
fn the_typescript_union_is_reason_all() {
    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        ts_union("ReasonCode"),
        codes,
        "pkg/src/index.d.ts ReasonCode, in documented order"
    );
}

#[test]
fn the_typescript_error_unions_are_the_rust_codes() {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(ts_union("KeygateErrorCode"), codes, "KeygateErrorCode");
    let wire: Vec<&str> = KEYSET_WIRE_CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(ts_union("KeySetErrorWireCode"), wire, "KeySetErrorWireCode");
    let kinds: Vec<&str> = ClaimKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(ts_union("NonceClaimKind"), kinds, "NonceClaimKind");
    let schemes: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(ts_union("WebhookScheme"), schemes, "WebhookScheme");
    for (code, status) in KEYSET_WIRE_CODES {
        let row = format!("| `{code}` | {status} |");
        assert!(
            REASONS_MD.contains(&row),
            "no row {row:?} in docs/reasons.md"
        );
    }
    for c in ErrorCode::ALL {
        assert!(
            REASONS_MD.contains(&format!("`{}`", c.as_str())),
            "docs/reasons.md does not mention {c}"
        );
    }
}

/// `pkg/src/codes.js` as generated from the Rust sources.
fn codes_js() -> String {
    let q = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut out = String::from(
        "// Generated from the Rust crate (src/codes.rs, Reason in src/decide/decision.rs): do not edit.\n\
         // `KEYGATE_BLESS=1 cargo test --test contracts` rewrites it; that test fails while it is stale.\n\
         // The wasm module sends a reason as its index in REASONS and an error as its index in\n\
         // ERROR_CODES; FINGERPRINT equals the module's `codesFingerprint()` when both come from one build.\n\n",
    );
    out.push_str(
        "/** Every reason: code, HTTP status, and the WWW-Authenticate challenge of a 401. */\n",
    );
    out.push_str("export const REASONS = Object.freeze([\n");
    for r in Reason::ALL {
        let www = r.www_authenticate().map_or("null".to_string(), q);
        out.push_str(&format!(
            "  Object.freeze({{ code: {}, status: {}, wwwAuthenticate: {www} }}),\n",
            q(r.code()),
            r.http_status()
        ));
    }
    out.push_str(
        "]);\n\n/** The closed set of KeygateError codes (index.d.ts `KeygateErrorCode`). */\n",
    );
    out.push_str("export const ERROR_CODES = Object.freeze([\n");
    for c in ErrorCode::ALL {
        out.push_str(&format!("  {},\n", q(c.as_str())));
    }
    out.push_str("]);\n\n/** The wire codes of a refused key set, with their HTTP status (index.d.ts `KeySetErrorWireCode`). */\n");
    out.push_str("export const KEYSET_WIRE_STATUS = Object.freeze({\n");
    for (c, s) in KEYSET_WIRE_CODES {
        out.push_str(&format!("  {c}: {s},\n"));
    }
    out.push_str("});\n\n/** The kinds of a nonce claim (index.d.ts `NonceClaimKind`). */\n");
    out.push_str("export const CLAIM_KINDS = Object.freeze([");
    let kinds: Vec<String> = ClaimKind::ALL.iter().map(|k| q(k.as_str())).collect();
    out.push_str(&kinds.join(", "));
    out.push_str("]);\n\n/** The Standard Webhooks schemes (index.d.ts `WebhookScheme`). */\n");
    out.push_str("export const WEBHOOK_SCHEMES = Object.freeze([");
    let schemes: Vec<String> = Scheme::ALL.iter().map(|s| q(s.as_str())).collect();
    out.push_str(&schemes.join(", "));
    out.push_str(&format!(
        "]);\n\nexport const FINGERPRINT = 0x{:08x};\n",
        fingerprint()
    ));
    out
}

#[test]
fn codes_js_is_generated_from_the_rust_codes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/pkg/src/codes.js");
    let want = codes_js();
    if std::env::var_os("KEYGATE_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "pkg/src/codes.js is stale: run `KEYGATE_BLESS=1 cargo test --test contracts`"
    );
}

#[test]
fn every_code_has_a_documented_row_with_its_status() {
    for r in Reason::ALL {
        let row = format!("| `{}` | {} |", r.code(), r.http_status());
        assert!(
            REASONS_MD.contains(&row) || SIGNATURES_MD.contains(&row),
            "no documented row {row:?} in docs/reasons.md"
        );
    }
}

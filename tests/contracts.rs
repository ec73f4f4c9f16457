//! Contracts stated in several places, held to the one source: every reason code of
//! `Reason::ALL` is in the TypeScript `ReasonCode` union and in the documented code tables, and
//! nothing else is.
#![cfg(not(target_arch = "wasm32"))]

use keygate::Reason;

const DTS: &str = include_str!("../pkg/src/index.d.ts");
const REASONS_MD: &str = include_str!("../docs/reasons.md");
const SIGNATURES_MD: &str = include_str!("../docs/signatures.md");

/// The members of `export type ReasonCode = | 'a' | 'b' ...;`.
fn ts_union() -> Vec<&'static str> {
    let start = DTS
        .find("export type ReasonCode =")
        .expect("index.d.ts declares ReasonCode");
    let body = &DTS[start..];
    let body = &body[..body.find(';').unwrap()];
    body.split('|')
        .skip(1)
        .map(|m| m.trim().trim_matches('\''))
        .collect()
}

#[test]
fn the_typescript_union_is_reason_all() {
    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        ts_union(),
        codes,
        "pkg/src/index.d.ts ReasonCode, in documented order"
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

//! Non-ASCII characters that some origin reads as ASCII.
//!
//! A path segment is refused when it holds one of these, because the origin behind the gateway
//! may read it as another, ASCII spelling that a route rule was written for: frameworks that
//! apply Unicode compatibility normalisation (NFKC: `／` U+FF0F is `/`, `ａｄｍｉｎ` is `admin`),
//! case-insensitive comparisons with simple case mappings (.NET `OrdinalIgnoreCase`: `ı`
//! U+0131 is `I`, `ſ` U+017F is `S`, `K` U+212A is `k`, `İ` U+0130 is `i`), and Windows
//! "best fit" conversion to ANSI code pages (`¥` U+00A5 and `₩` U+20A9 become `\` in the
//! Japanese and Korean code pages; `∕` U+2215, `∖` U+2216, `⁄` U+2044, `⧵` U+29F5 become `/`
//! or `\`).
//!
//! The table holds every code point from U+0080 up whose NFKC form contains an ASCII
//! character, or whose single-character upper or lower case mapping is ASCII, plus the
//! best-fit characters above. It was generated from Python's `unicodedata` (Unicode 14.0);
//! the fuzz crate's sweep (`fuzz/src/origins.rs`, run by `make fuzz`) checks it against every
//! code point at the toolchain's and `unicode-normalization`'s Unicode version and found the
//! additions since (U+209D..U+209F, U+A7F1, the outlined letters and digits U+1CCD6..U+1CCF9).
//! Spot values are checked below; other non-ASCII text (`é`, `ß`, `日本`) is fine.

/// Inclusive code point ranges, sorted.
const FOLDS_TO_ASCII: &[(u32, u32)] = &[
    (0x00A0, 0x00A0),
    (0x00A5, 0x00A5),
    (0x00A8, 0x00A8),
    (0x00AA, 0x00AA),
    (0x00AF, 0x00AF),
    (0x00B2, 0x00B4),
    (0x00B8, 0x00BA),
    (0x00BC, 0x00BE),
    (0x0130, 0x0133),
    (0x013F, 0x0140),
    (0x0149, 0x0149),
    (0x017F, 0x017F),
    (0x01C4, 0x01CC),
    (0x01F1, 0x01F3),
    (0x02B0, 0x02B0),
    (0x02B2, 0x02B3),
    (0x02B7, 0x02B8),
    (0x02D8, 0x02DD),
    (0x02E1, 0x02E3),
    (0x037A, 0x037A),
    (0x037E, 0x037E),
    (0x0384, 0x0385),
    (0x1D2C, 0x1D2C),
    (0x1D2E, 0x1D2E),
    (0x1D30, 0x1D31),
    (0x1D33, 0x1D3A),
    (0x1D3C, 0x1D3C),
    (0x1D3E, 0x1D43),
    (0x1D47, 0x1D49),
    (0x1D4D, 0x1D4D),
    (0x1D4F, 0x1D50),
    (0x1D52, 0x1D52),
    (0x1D56, 0x1D58),
    (0x1D5B, 0x1D5B),
    (0x1D62, 0x1D65),
    (0x1D9C, 0x1D9C),
    (0x1DA0, 0x1DA0),
    (0x1DBB, 0x1DBB),
    (0x1E9A, 0x1E9A),
    (0x1FBD, 0x1FBD),
    (0x1FBF, 0x1FC1),
    (0x1FCD, 0x1FCF),
    (0x1FDD, 0x1FDF),
    (0x1FED, 0x1FEF),
    (0x1FFD, 0x1FFE),
    (0x2000, 0x200A),
    (0x2017, 0x2017),
    (0x2024, 0x2026),
    (0x202F, 0x202F),
    (0x203C, 0x203C),
    (0x203E, 0x203E),
    (0x2044, 0x2044),
    (0x2047, 0x2049),
    (0x205F, 0x205F),
    (0x2070, 0x2071),
    (0x2074, 0x207A),
    (0x207C, 0x208A),
    (0x208C, 0x208E),
    (0x2090, 0x2093),
    (0x2095, 0x209F),
    (0x20A8, 0x20A9),
    (0x2100, 0x2103),
    (0x2105, 0x2106),
    (0x2109, 0x210E),
    (0x2110, 0x2113),
    (0x2115, 0x2116),
    (0x2119, 0x211D),
    (0x2120, 0x2122),
    (0x2124, 0x2124),
    (0x2128, 0x2128),
    (0x212A, 0x212A),
    (0x212C, 0x212D),
    (0x212F, 0x2131),
    (0x2133, 0x2134),
    (0x2139, 0x2139),
    (0x213B, 0x213B),
    (0x2145, 0x2149),
    (0x2150, 0x217F),
    (0x2189, 0x2189),
    (0x2215, 0x2216),
    (0x2460, 0x24EA),
    (0x29F5, 0x29F5),
    (0x2A74, 0x2A76),
    (0x2C7C, 0x2C7D),
    (0x3000, 0x3000),
    (0x309B, 0x309C),
    (0x3200, 0x321E),
    (0x3220, 0x3243),
    (0x3250, 0x325F),
    (0x32B1, 0x32CF),
    (0x3358, 0x337A),
    (0x3380, 0x33FF),
    (0xA7F1, 0xA7F4),
    (0xFB00, 0xFB06),
    (0xFB29, 0xFB29),
    (0xFC5E, 0xFC63),
    (0xFDFA, 0xFDFB),
    (0xFE10, 0xFE10),
    (0xFE13, 0xFE16),
    (0xFE19, 0xFE19),
    (0xFE30, 0xFE30),
    (0xFE33, 0xFE38),
    (0xFE47, 0xFE50),
    (0xFE52, 0xFE52),
    (0xFE54, 0xFE57),
    (0xFE59, 0xFE5C),
    (0xFE5F, 0xFE66),
    (0xFE68, 0xFE6B),
    (0xFE70, 0xFE70),
    (0xFE72, 0xFE72),
    (0xFE74, 0xFE74),
    (0xFE76, 0xFE76),
    (0xFE78, 0xFE78),
    (0xFE7A, 0xFE7A),
    (0xFE7C, 0xFE7C),
    (0xFE7E, 0xFE7E),
    (0xFF01, 0xFF5E),
    (0xFFE3, 0xFFE3),
    (0x107A5, 0x107A5),
    (0x1CCD6, 0x1CCF9),
    (0x1D400, 0x1D454),
    (0x1D456, 0x1D49C),
    (0x1D49E, 0x1D49F),
    (0x1D4A2, 0x1D4A2),
    (0x1D4A5, 0x1D4A6),
    (0x1D4A9, 0x1D4AC),
    (0x1D4AE, 0x1D4B9),
    (0x1D4BB, 0x1D4BB),
    (0x1D4BD, 0x1D4C3),
    (0x1D4C5, 0x1D505),
    (0x1D507, 0x1D50A),
    (0x1D50D, 0x1D514),
    (0x1D516, 0x1D51C),
    (0x1D51E, 0x1D539),
    (0x1D53B, 0x1D53E),
    (0x1D540, 0x1D544),
    (0x1D546, 0x1D546),
    (0x1D54A, 0x1D550),
    (0x1D552, 0x1D6A3),
    (0x1D7CE, 0x1D7FF),
    (0x1F100, 0x1F10A),
    (0x1F110, 0x1F12E),
    (0x1F130, 0x1F14F),
    (0x1F16A, 0x1F16C),
    (0x1F190, 0x1F190),
    (0x1FBF0, 0x1FBF9),
];

/// Whether `c` is a non-ASCII character some origin reads as (part of) an ASCII spelling.
pub(crate) fn folds_to_ascii(c: char) -> bool {
    let cp = u32::from(c);
    if cp < 0x80 {
        return false;
    }
    FOLDS_TO_ASCII
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        for w in FOLDS_TO_ASCII.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
        }
    }

    #[test]
    fn spot_values() {
        for c in [
            '\u{FF0F}',  // fullwidth solidus: NFKC '/'
            '\u{FF3C}',  // fullwidth reverse solidus: NFKC '\'
            '\u{FF0E}',  // fullwidth full stop
            '\u{FE52}',  // small full stop
            '\u{2024}',  // one dot leader
            '\u{FF41}',  // fullwidth 'a'
            '\u{1D41A}', // mathematical bold 'a'
            '\u{0131}',  // dotless i: upper 'I'
            '\u{0130}',  // dotted capital I: simple lower 'i'
            '\u{017F}',  // long s: upper 'S'
            '\u{212A}',  // kelvin sign: lower 'k'
            '\u{00A0}',  // no-break space: NFKC ' '
            '\u{00A5}',  // yen sign: best fit '\' (code page 932)
            '\u{20A9}',  // won sign: best fit '\' (code page 949)
            '\u{2215}',  // division slash
            '\u{FB01}',  // ligature fi
            '\u{1CCD6}', // outlined capital A (Unicode 16): NFKC 'A'
        ] {
            assert!(folds_to_ascii(c), "{c:?} U+{:04X}", u32::from(c));
        }
        for c in ['a', '/', 'é', 'ß', 'ü', '日', '本', 'Ω', '\u{212B}'] {
            assert!(!folds_to_ascii(c), "{c:?}");
        }
    }
}

//! Helpers shared by the crate's unit tests.

/// Bytes from hex text, as published vectors write them (RFC 4231, Wycheproof).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A small deterministic generator (xorshift64) for the tests that read generated inputs:
/// the same inputs on every run.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// The seed the crate's generated-input tests start from.
    pub(crate) const SEED: u64 = 0x2545_f491_4f6c_dd1d;

    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `from`, chosen by [`below`](Self::below).
    pub(crate) fn pick<'a, T: ?Sized>(&mut self, from: &[&'a T]) -> &'a T {
        from[self.below(from.len())]
    }
}

//! The keys API keys named recently, so a key presented again skips its SHA-256 and checksum.
//!
//! An API key is looked up by the SHA-256 of what was sent (`KeySet::key_by_digest`): two
//! compressions for a 57-byte key, the largest single cost of an API-key decision in wasm. A
//! key that was found once is remembered here under a 128-bit fingerprint made with SipHash-2-4
//! (two 64-bit tags under two independent random keys, drawn when the set loads), never under
//! the key itself: what this table holds is as little secret as the digests the key set holds.
//! Without the random keys nobody can make another key with the same fingerprint, so a hit is
//! the same key as before, whose lookup and checksum came out the same way. Keys that were not
//! found are never entered, so whoever does not hold a key cannot change what is here, and
//! gets the same work for every guess. One table per loaded set: a new set starts empty.

use std::sync::Mutex;

/// Slots (a power of two); a new entry replaces the one in its slot.
const SLOTS: usize = 256;

/// SipHash-2-4 of `msg` under the 128-bit key `(k0, k1)`.
fn siphash(k0: u64, k1: u64, msg: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let mut compress = |m: u64| {
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    };
    let mut words = msg.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        compress(u64::from_le_bytes(b));
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = msg.len() as u8;
    compress(u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Recently found API keys by fingerprint: `(fingerprint, key index + 1)` per slot.
pub(crate) struct RecentKeys {
    /// The two SipHash keys; `None` when no random source was available (the table stays off).
    keys: Option<[u64; 4]>,
    slots: Mutex<Vec<(u128, u32)>>,
}

impl RecentKeys {
    pub(crate) fn new() -> RecentKeys {
        let mut seed = [0u8; 32];
        let keys = getrandom::fill(&mut seed).ok().map(|()| {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&seed[8 * i..8 * i + 8]);
                u64::from_le_bytes(b)
            };
            [word(0), word(1), word(2), word(3)]
        });
        RecentKeys {
            keys,
            slots: Mutex::new(Vec::new()),
        }
    }

    fn fingerprint(&self, api_key: &str) -> Option<u128> {
        let k = self.keys?;
        let a = siphash(k[0], k[1], api_key.as_bytes());
        let b = siphash(k[2], k[3], api_key.as_bytes());
        Some(u128::from(a) << 64 | u128::from(b))
    }

    /// The index of the key `api_key` named when it was last found.
    pub(crate) fn get(&self, api_key: &str) -> Option<u32> {
        let fp = self.fingerprint(api_key)?;
        let slots = self.slots.lock().ok()?;
        match slots.get(fp as usize % SLOTS) {
            Some(&(f, i)) if f == fp && i > 0 => Some(i - 1),
            _ => None,
        }
    }

    /// Remembers that `api_key` names key `index`.
    pub(crate) fn put(&self, api_key: &str, index: u32) {
        let Some(fp) = self.fingerprint(api_key) else {
            return;
        };
        if let Ok(mut slots) = self.slots.lock() {
            if slots.is_empty() {
                slots.resize(SLOTS, (0, 0));
            }
            slots[fp as usize % SLOTS] = (fp, index + 1);
        }
    }
}

impl RecentKeys {
    /// Forgets every key (the set's keys moved: a delta was applied).
    pub(crate) fn clear(&mut self) {
        if let Ok(slots) = self.slots.get_mut() {
            slots.clear();
        }
    }
}

impl Clone for RecentKeys {
    /// A copy of a set remembers nothing yet.
    fn clone(&self) -> RecentKeys {
        RecentKeys::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_2_4_reference_vectors() {
        // The reference implementation's vectors: key 00..0f, messages 00, 00 01, ... (first
        // three and the 8- and 15-byte ones, which cross a word).
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0..64).collect();
        for (len, want) in [
            (0, 0x726f_db47_dd0e_0e31u64),
            (1, 0x74f8_39c5_93dc_67fd),
            (2, 0x0d6c_8009_d9a9_4f5a),
            (8, 0x93f5_f579_9a93_2462),
            (15, 0xa129_ca61_49be_45e5),
            (63, 0x958a_324c_eb06_4572),
        ] {
            assert_eq!(siphash(k0, k1, &msg[..len]), want, "{len} bytes");
        }
    }

    #[test]
    fn remembers_what_was_put_and_nothing_else() {
        let r = RecentKeys::new();
        assert_eq!(r.get("kg_a"), None);
        r.put("kg_a", 7);
        assert_eq!(r.get("kg_a"), Some(7));
        assert_eq!(r.get("kg_b"), None);
        assert_eq!(r.clone().get("kg_a"), None, "a copy starts empty");
        // Two instances fingerprint differently (their keys are random).
        let s = RecentKeys::new();
        assert_ne!(r.fingerprint("kg_a"), s.fingerprint("kg_a"));
    }
}

//! A fast, non-cryptographic hasher for internal maps whose keys no adversary chooses:
//! the validator's (names to declarations, constraint names; keys from one schema file,
//! where SipHash's flooding protection cost a tenth of `ssot check`'s time) and the
//! realtime hub's per-batch maps (keyed by the hub's own connection and group numbers). The algorithm is the well-known Fx hash used
//! by rustc: multiply-rotate over machine words.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(bytes, rest.len()));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The last `len` (1 to 7) bytes of `bytes` as a little-endian word, zero-padded: read by
/// fixed-size loads rather than copied into a zeroed buffer, a copy of variable length
/// that is a call to `memcpy` (most names end in such a partial word).
#[inline]
fn tail_word(bytes: &[u8], len: usize) -> u64 {
    if let Some(last) = bytes.last_chunk::<8>() {
        // The whole word that ends with the tail, shifted down past the bytes before it.
        return u64::from_le_bytes(*last) >> (8 * (8 - len));
    }
    // Fewer than eight bytes in all: the tail is the whole input.
    let byte = |i: usize| u64::from(bytes[i]);
    match bytes.first_chunk::<4>() {
        Some(low) => {
            let high = bytes.last_chunk::<4>().map_or(0, |h| u64::from(u32::from_le_bytes(*h)));
            u64::from(u32::from_le_bytes(*low)) | (high >> (8 * (8 - len))) << 32
        }
        None => (0..len).fold(0, |word, i| word | byte(i) << (8 * i)),
    }
}

pub type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub type FxHashSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_word_is_the_zero_padded_tail() {
        let text = b"abcdefghijklmnopq";
        for len in 1..=text.len() {
            let bytes = &text[..len];
            let rest = len % 8;
            if rest == 0 {
                continue;
            }
            let mut word = [0u8; 8];
            word[..rest].copy_from_slice(&bytes[len - rest..]);
            assert_eq!(tail_word(bytes, rest), u64::from_le_bytes(word), "{len} bytes");
        }
    }

    #[test]
    fn maps_work_with_string_keys() {
        let mut map: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, name) in ["User", "Post", "Comment", "a_much_longer_model_name_over_eight_bytes"].iter().enumerate() {
            map.insert(name, i);
        }
        assert_eq!(map.get("Comment"), Some(&2));
        assert_eq!(map.get("a_much_longer_model_name_over_eight_bytes"), Some(&3));
        assert_eq!(map.get("Nope"), None);
    }
}

//! Generated ids for `@default(uuid())`, `cuid()`, `nanoid()` and `ulid()`, made by
//! ssot when it inserts (as Prisma Client makes them; the database has no default).
//!
//! Shapes match Prisma's: `uuid()` is a v4 UUID (`uuid(7)` a time-ordered v7), `cuid()`
//! the 25-character `c...` form (time, counter, host fingerprint, randomness), `cuid(2)`
//! 24 lowercase characters starting with a letter, `nanoid(n)` n characters of
//! `A-Za-z0-9_-`, `ulid()` 26 Crockford base-32 characters, sortable by time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source does not fail on the platforms ssot runs on; should it,
    // the UUID library's own source (also the OS's) is the fallback.
    if getrandom::fill(&mut bytes).is_err() {
        for chunk in bytes.chunks_mut(16) {
            let uuid = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&uuid.as_bytes()[..chunk.len()]);
        }
    }
    bytes
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

pub fn uuid(version: u8) -> String {
    if version == 7 {
        uuid::Uuid::now_v7().to_string()
    } else {
        uuid::Uuid::new_v4().to_string()
    }
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn cuid(version: u8) -> String {
    if version == 2 {
        let bytes = random_bytes::<24>();
        let mut out = String::with_capacity(24);
        out.push(char::from(b'a' + bytes[0] % 26));
        for b in &bytes[1..] {
            out.push(char::from(BASE36[usize::from(*b) % 36]));
        }
        return out;
    }
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed) % 1_679_616; // 36^4
    let fingerprint = (std::process::id() as u64) % 1_679_616;
    let random = random_bytes::<8>();
    let random = u64::from_le_bytes(random) % 2_821_109_907_456; // 36^8
    format!(
        "c{}{}{}{}",
        base36(now_millis(), 8),
        base36(u64::from(counter), 4),
        base36(fingerprint, 4),
        base36(random, 8)
    )
}

const NANOID_ALPHABET: &[u8; 64] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";

pub fn nanoid(length: usize) -> String {
    let length = length.clamp(2, 255);
    let mut out = String::with_capacity(length);
    let bytes = random_bytes::<255>();
    for b in &bytes[..length] {
        out.push(char::from(NANOID_ALPHABET[usize::from(*b & 63)]));
    }
    out
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub fn ulid() -> String {
    let time = u128::from(now_millis() & 0xFFFF_FFFF_FFFF);
    let random = random_bytes::<10>();
    let mut value = time << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (8 * (9 - i));
    }
    (0..26).rev().map(|i| char::from(CROCKFORD[((value >> (5 * i)) & 31) as usize])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(uuid(4).len(), 36);
        assert_eq!(uuid(7).chars().nth(14), Some('7'));
        let c = cuid(1);
        assert!(c.starts_with('c') && c.len() == 25, "{c}");
        let c2 = cuid(2);
        assert!(c2.len() == 24 && c2.chars().next().is_some_and(|c| c.is_ascii_lowercase()), "{c2}");
        assert_eq!(nanoid(21).len(), 21);
        assert!(nanoid(21).chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert_eq!(ulid().len(), 26);
        assert_ne!(cuid(1), cuid(1));
    }
}

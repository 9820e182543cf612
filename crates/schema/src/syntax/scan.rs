//! The lexer's scans over runs of bytes (blanks, comments, names), most of them eight
//! bytes at a time, and the blanks beyond ASCII.

/// Blanks beyond ASCII: Prisma's grammar takes every space separator (Unicode's `Zs`: the
/// no-break space, the typographic spaces, the ideographic space, ...) where it takes a space.
pub(super) fn is_wide_blank(c: char) -> bool {
    matches!(c, '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// The position of the first byte at or after `pos` that is neither a space nor a tab.
///
/// Indentation and column alignment make runs of blanks the commonest bytes of a schema
/// (often 10 to 20 in a row), so longer runs are read eight bytes at a time.
pub(super) fn skip_blanks(bytes: &[u8], mut pos: usize) -> usize {
    if !matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        return pos;
    }
    while let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let blanks = zero_bytes(word ^ (ONES * u64::from(b' '))) | zero_bytes(word ^ (ONES * u64::from(b'\t')));
        let others = !blanks & HIGH;
        if others != 0 {
            // Little-endian: the lowest set bit is the first byte in the text.
            return pos + (others.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is zero. Exact, unlike the usual
/// `(w - ONES) & !w & HIGH`: adding 0x7f to a byte's low seven bits never carries into
/// the next byte.
fn zero_bytes(word: u64) -> u64 {
    !((((word & !HIGH) + !HIGH) | word) | !HIGH)
}

/// The position of the first `\n` or `\r` at or after `pos`, or the end of the input:
/// where a comment ends. Comments are a fifth of a commented schema's bytes, so they
/// are scanned eight bytes at a time.
pub(super) fn line_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let ends = zero_bytes(word ^ (ONES * u64::from(b'\n'))) | zero_bytes(word ^ (ONES * u64::from(b'\r')));
        if ends != 0 {
            // Little-endian: the lowest set bit is the first byte in the text.
            return pos + (ends.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    let rest = bytes.get(pos..).unwrap_or_default();
    pos + rest.iter().position(|&b| b == b'\n' || b == b'\r').unwrap_or(rest.len())
}

/// The position of the first byte at or after `pos` that does not continue an ASCII name.
/// Looks at eight bytes per step while eight remain, which spares a bounds check per byte.
pub(super) fn ascii_name_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        match chunk.iter().position(|&b| !IDENT_BYTE[usize::from(b)]) {
            Some(offset) => return pos + offset,
            None => pos += 8,
        }
    }
    while bytes.get(pos).is_some_and(|&b| IDENT_BYTE[usize::from(b)]) {
        pos += 1;
    }
    pos
}

/// ASCII bytes that continue a name: letters, digits, `_` and `-`.
const IDENT_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_blanks_matches_a_plain_scan() {
        let text = "a \t  \t                  x\t\t\t\t\t\t\t\t\t é  \u{a0} \u{2020}   \r\n        ";
        let bytes = text.as_bytes();
        for pos in 0..=bytes.len() {
            let plain = pos + bytes[pos..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            assert_eq!(skip_blanks(bytes, pos), plain, "from {pos}");
        }
    }

    #[test]
    fn ascii_name_end_matches_a_plain_scan() {
        let text = "a_very-long_name0123456789 x.y é_b abcdefgh(ijklmnopq) z";
        let bytes = text.as_bytes();
        for pos in 0..=bytes.len() {
            let plain = pos + bytes[pos..].iter().take_while(|&&b| IDENT_BYTE[usize::from(b)]).count();
            assert_eq!(ascii_name_end(bytes, pos), plain, "from {pos}");
        }
    }

    #[test]
    fn line_end_matches_a_plain_scan() {
        let text = "// a comment with é and more than eight bytes\r\n// x\n\n//y\rz // last";
        let bytes = text.as_bytes();
        for pos in 0..=bytes.len() {
            let plain = pos + bytes[pos..].iter().take_while(|&&b| b != b'\n' && b != b'\r').count();
            assert_eq!(line_end(bytes, pos), plain, "from {pos}");
        }
    }
}

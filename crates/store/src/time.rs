//! DateTime values: ISO-8601 text in the API, milliseconds since the Unix epoch inside.
//!
//! Prisma stores a SQLite `DateTime` as epoch milliseconds and a PostgreSQL one as
//! `TIMESTAMP(3)` in UTC; the API always speaks `2024-05-01T12:30:00.000Z`. The calendar
//! arithmetic is Howard Hinnant's `days_from_civil`, exact for the proleptic Gregorian
//! calendar, which is all this needs (no time-zone database: offsets are read, and
//! everything is written in UTC).

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The time now, in milliseconds since the epoch.
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX))
}

/// `2024-05-01T12:30:00.000Z`.
pub fn format(ms: Millis) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, frac) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{frac:03}Z")
}

/// Reads ISO-8601 / RFC 3339 date-times (`T` or a space between date and time, fraction
/// optional, `Z`, `±HH:MM`, `±HHMM` or `±HH`, or no offset for UTC) and bare dates. Also
/// reads PostgreSQL's text output (`2024-05-01 12:30:00.5+00`).
pub fn parse(text: &str) -> Option<Millis> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    // A time of day alone (PostgreSQL `TIME`): on 1970-01-01, as Prisma returns it.
    if b.len() >= 8 && b.get(2) == Some(&b':') {
        let time = std::str::from_utf8(b).ok()?;
        return parse(&format!("1970-01-01T{time}"));
    }
    let year = num(0..4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = u32::try_from(num(5..7)?).ok()?;
    let day = u32::try_from(num(8..10)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut s = 0;
    if b.get(16) == Some(&b':') {
        s = num(17..19)?;
        i = 19;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    ms += (h * 3600 + mi * 60 + s) * 1000;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        // Milliseconds: further digits are cut, as the database keeps 3.
        let digits = &b[start..end.min(start + 3)];
        let mut frac = std::str::from_utf8(digits).ok()?.parse::<i64>().ok()?;
        for _ in digits.len()..3 {
            frac *= 10;
        }
        ms += frac;
        i = end;
    }
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &b[i + 1..];
            let (oh, om) = match rest.len() {
                2 => (num(i + 1..i + 3)?, 0),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                5 if rest[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - offset } else { ms + offset })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for ms in [0, 1, -1, 1_714_566_600_123, -62_135_596_800_000, 253_402_300_799_999] {
            assert_eq!(parse(&format(ms)), Some(ms), "{}", format(ms));
        }
        assert_eq!(format(1_714_566_600_123), "2024-05-01T12:30:00.123Z");
    }

    #[test]
    fn reads_offsets_and_database_forms() {
        let utc = parse("2024-05-01T12:30:00Z");
        assert_eq!(parse("2024-05-01T14:30:00+02:00"), utc);
        assert_eq!(parse("2024-05-01 12:30:00+00"), utc);
        assert_eq!(parse("2024-05-01 12:30:00"), utc);
        assert_eq!(parse("2024-05-01T12:30:00.5Z"), utc.map(|v| v + 500));
        assert_eq!(parse("2024-05-01"), parse("2024-05-01T00:00:00Z"));
        assert_eq!(parse("12:30:00"), parse("1970-01-01T12:30:00Z"));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "2024", "2024-13-01", "2024-02-30", "2024-05-01T25:00:00Z", "2024-05-01T12:30:00Q", "yesterday"]
        {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

//! `date-time` values, parsed in every shape the service and the SDKs use.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use std::fmt;

/// A UTC instant as carried in `timestamp`, `joinDate` and `leaveDate`.
///
/// Parses ISO-8601 with or without milliseconds, with `Z` or a numeric offset,
/// without a zone (taken as UTC) and a bare date (midnight UTC), like the Java SDK's
/// `ApiDateFormat`. Serialises as `2020-08-05T13:09:49.546Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

/// A `date-time` string that matches none of the accepted shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(pub String);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an ISO-8601 date-time: {:?}", self.0)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The current instant, truncated to milliseconds (what the wire carries).
    pub fn now() -> Self {
        let now = Utc::now();
        let millis = now.timestamp_millis();
        Timestamp(DateTime::from_timestamp_millis(millis).unwrap_or(now))
    }

    /// Parses any accepted shape. Years outside 0000-9999 (in UTC) are refused: RFC 3339
    /// cannot write them, so they could not be sent back as they came.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        if let Some(t) = Timestamp::parse_utc(s.as_bytes()) {
            return Ok(t);
        }
        match Timestamp::parse_any(s.trim()) {
            Some(t) if (0..=9999).contains(&t.0.year()) => Ok(t),
            _ => Err(TimestampError(s.to_owned())),
        }
    }

    /// The shape the service writes, `2019-06-18T16:59:22.277Z` (1 to 9 fractional digits or
    /// none), read without chrono's general parser; anything else (other separators, offsets,
    /// leap seconds, blanks) is left to [`Timestamp::parse_any`], which gives the same instant
    /// for every text read here.
    fn parse_utc(b: &[u8]) -> Option<Self> {
        fn num(b: &[u8]) -> Option<u32> {
            b.iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        }
        if b.len() < 20
            || b.len() == 21
            || b.len() > 30
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[b.len() - 1] != b'Z'
        {
            return None;
        }
        let nanos = match &b[19..b.len() - 1] {
            [] => 0,
            [b'.', digits @ ..] => num(digits)? * 10u32.pow(9 - digits.len() as u32),
            _ => return None,
        };
        let (second, minute, hour) = (num(&b[17..19])?, num(&b[14..16])?, num(&b[11..13])?);
        if second > 59 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(num(&b[0..4])?).ok()?,
            num(&b[5..7])?,
            num(&b[8..10])?,
        )?;
        Some(Timestamp(
            date.and_hms_nano_opt(hour, minute, second, nanos)?
                .and_utc(),
        ))
    }

    fn parse_any(t: &str) -> Option<Self> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Some(Timestamp(dt.with_timezone(&Utc)));
        }
        // Offsets without a colon (`+0000`), as Java's `XXX` also accepts `Z`.
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
            if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
                return Some(Timestamp(dt.with_timezone(&Utc)));
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
                return Some(Timestamp(naive.and_utc()));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            if let Some(naive) = date.and_hms_opt(0, 0, 0) {
                return Some(Timestamp(naive.and_utc()));
            }
        }
        None
    }

    /// Milliseconds since the Unix epoch.
    pub fn timestamp_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Milliseconds, as the wire carries them; finer instants keep their digits so
        // that parsing the text gives the same instant back.
        let format = if self.0.timestamp_subsec_nanos() % 1_000_000 == 0 {
            SecondsFormat::Millis
        } else {
            SecondsFormat::AutoSi
        };
        f.write_str(&self.0.to_rfc3339_opts(format, true))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(dt: DateTime<Utc>) -> Self {
        Timestamp(dt)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO-8601 date-time string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service's shape is read without chrono's parser; every text it accepts must give
    /// the instant the general parser gives, and every text it refuses must still parse there.
    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        let mut texts: Vec<String> = [
            "2019-06-18T16:59:22.277Z",
            "2019-06-18T16:59:22Z",
            "2019-06-18T16:59:22.2Z",
            "2019-06-18T16:59:22.123456789Z",
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "2020-02-29T12:00:00.000Z",
            "2019-02-29T12:00:00.000Z",
            "2019-06-18T24:00:00.000Z",
            "2019-06-18T16:60:22.277Z",
            "2016-12-31T23:59:60.000Z",
            "2019-06-18T16:59:22.Z",
            "2019-06-18T16:59:22.1234567890Z",
            "2019-06-18t16:59:22.277z",
            "2019-06-18 16:59:22.277Z",
            "2019-06-18T16:59:22.277+00:00",
            "+2019-06-18T16:59:22.277Z",
            "2019-6-18T16:59:22.277Z",
            "2019-06-18T16:59:2x.277Z",
            "２019-06-18T16:59:22.277Z",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 10) as usize;
            let frac = format!("{:09}", seed % 1_000_000_000);
            texts.push(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}Z",
                seed % 10_000,
                (seed >> 8) % 14,
                (seed >> 16) % 33,
                (seed >> 24) % 25,
                (seed >> 32) % 61,
                (seed >> 40) % 61,
                if digits == 0 { "" } else { "." },
                &frac[..digits],
            ));
        }
        for text in &texts {
            if let Some(fast) = Timestamp::parse_utc(text.as_bytes()) {
                assert_eq!(Timestamp::parse_any(text), Some(fast), "{text}");
            }
            assert_eq!(
                Timestamp::parse(text).ok(),
                Timestamp::parse_any(text.trim()).filter(|t| (0..=9999).contains(&t.0.year())),
                "{text}"
            );
        }
        assert!(Timestamp::parse_utc(b"2019-06-18T16:59:22.277Z").is_some());
    }
}

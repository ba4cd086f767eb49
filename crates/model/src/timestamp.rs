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
        match Timestamp::parse_any(s.trim()) {
            Some(t) if (0..=9999).contains(&t.0.year()) => Ok(t),
            _ => Err(TimestampError(s.to_owned())),
        }
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

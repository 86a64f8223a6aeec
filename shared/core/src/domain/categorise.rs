//! Categorisation: the priority and tags an inquiry gets from what the prospect wrote.
//!
//! The rules, in order (the first that matches sets the priority):
//!
//! 1. **urgent**: an incident word (outage, "is down", "went down", emergency, breach,
//!    "security incident", hacked, "data loss"), an explicit rush word (urgent, asap,
//!    "as soon as possible", immediately), or a deadline at most 7 days away (today,
//!    tonight, tomorrow, "this week", "within N days" with N <= 7, or a calendar date
//!    like `2026-12-01` or `December 1` no more than 7 days ahead).
//! 2. **high**: any other deadline: the word deadline, "next week", "this month",
//!    "next month", "end of (the) month/quarter/year", "this quarter", "within N
//!    days/weeks", or a calendar date within 90 days.
//! 3. **low**: only the `general` service and none of the above.
//! 4. **medium**: everything else.
//!
//! A signal preceded by a negation ("not urgent", "no deadline", "isn't down") in the
//! three words before it does not count. Matching is on whole words, so "download"
//! is not "down" and "downtime" is not an outage. Dates in the past are ignored.
//!
//! Tags are the service ids plus topic tags from keywords (see `TOPICS`), plus
//! `deadline` or `incident` when those signals fired; sorted and unique.

use super::service::ServiceType;
use std::fmt;
use time::{Date, Month, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Medium, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown priority {s:?}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categorisation {
    pub priority: Priority,
    pub tags: Vec<String>,
}

const INCIDENT: &[&str] = &[
    "outage",
    "outages",
    "is down",
    "are down",
    "went down",
    "goes down",
    "emergency",
    "breach",
    "breached",
    "security incident",
    "hacked",
    "data loss",
    "production incident",
];
const RUSH: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "as soon as possible",
    "immediately",
];
const SOON: &[&str] = &["today", "tonight", "tomorrow", "this week"];
const LATER: &[&str] = &[
    "deadline",
    "next week",
    "this month",
    "next month",
    "end of month",
    "end of the month",
    "end of quarter",
    "end of the quarter",
    "this quarter",
    "end of year",
    "end of the year",
];
const NEGATIONS: &[&str] = &["not", "no", "isn't", "isnt", "never", "without", "nothing"];

/// Keyword (whole word or phrase) to topic tag.
const TOPICS: &[(&str, &str)] = &[
    ("aws", "aws"),
    ("azure", "multi-cloud"),
    ("gcp", "multi-cloud"),
    ("google cloud", "multi-cloud"),
    ("kubernetes", "containers"),
    ("k8s", "containers"),
    ("eks", "containers"),
    ("ecs", "containers"),
    ("docker", "containers"),
    ("containers", "containers"),
    ("serverless", "serverless"),
    ("lambda", "serverless"),
    ("cost", "cost"),
    ("costs", "cost"),
    ("bill", "cost"),
    ("billing", "cost"),
    ("spend", "cost"),
    ("savings", "cost"),
    ("security", "security"),
    ("compliance", "compliance"),
    ("gdpr", "compliance"),
    ("hipaa", "compliance"),
    ("soc 2", "compliance"),
    ("pci", "compliance"),
    ("database", "data"),
    ("databases", "data"),
    ("postgres", "data"),
    ("postgresql", "data"),
    ("mysql", "data"),
    ("oracle", "data"),
    ("dynamodb", "data"),
    ("data warehouse", "data"),
    ("on-prem", "on-premises"),
    ("on-premises", "on-premises"),
    ("on premises", "on-premises"),
    ("datacenter", "on-premises"),
    ("data center", "on-premises"),
    ("data centre", "on-premises"),
    ("machine learning", "ai-ml"),
    ("ml", "ai-ml"),
    ("ai", "ai-ml"),
    ("genai", "ai-ml"),
    ("bedrock", "ai-ml"),
    ("disaster recovery", "resilience"),
    ("backup", "resilience"),
    ("high availability", "resilience"),
];

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Positions where `phrase` (one or more words) starts in `ws`.
fn find_phrase(ws: &[String], phrase: &str) -> Vec<usize> {
    let p: Vec<&str> = phrase.split(' ').collect();
    if p.len() > ws.len() {
        return vec![];
    }
    (0..=ws.len() - p.len())
        .filter(|&i| p.iter().enumerate().all(|(j, w)| ws[i + j] == *w))
        .collect()
}

fn negated(ws: &[String], at: usize) -> bool {
    ws[at.saturating_sub(3)..at]
        .iter()
        .any(|w| NEGATIONS.contains(&w.as_str()))
}

fn signal(ws: &[String], phrases: &[&str]) -> bool {
    phrases
        .iter()
        .any(|p| find_phrase(ws, p).into_iter().any(|i| !negated(ws, i)))
}

/// The smallest number of days until a relative deadline such as "within 5 days".
fn within_days(ws: &[String]) -> Option<i64> {
    find_phrase(ws, "within")
        .into_iter()
        .filter(|&i| !negated(ws, i) && i + 2 < ws.len())
        .filter_map(|i| {
            let n: i64 = ws[i + 1].parse().ok()?;
            let per = match ws[i + 2].as_str() {
                "day" | "days" => 1,
                "week" | "weeks" => 7,
                "month" | "months" => 30,
                _ => return None,
            };
            Some(n * per)
        })
        .min()
}

fn month_of(word: &str) -> Option<Month> {
    let m = match word.get(..3)? {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    };
    // "march" and "may" are also ordinary words; only full names or the usual
    // abbreviations count, and "may" only when a day number follows it.
    let full = m.to_string().to_lowercase();
    (word == full || word.len() == 3 || (word.len() == 4 && word.starts_with("sept"))).then_some(m)
}

/// Days until the nearest future calendar date written in the text.
fn nearest_date(ws: &[String], today: Date) -> Option<i64> {
    let mut best: Option<i64> = None;
    let mut consider = |d: Date| {
        let days = (d - today).whole_days();
        if days >= 0 && best.is_none_or(|b| days < b) {
            best = Some(days);
        }
    };
    for (i, w) in ws.iter().enumerate() {
        // ISO 8601: 2026-12-01
        let parts: Vec<&str> = w.split('-').collect();
        if parts.len() == 3 && parts[0].len() == 4 {
            if let (Ok(y), Ok(m), Ok(d)) = (
                parts[0].parse::<i32>(),
                parts[1].parse::<u8>(),
                parts[2].parse::<u8>(),
            ) {
                if let Ok(m) = Month::try_from(m) {
                    if let Ok(date) = Date::from_calendar_date(y, m, d) {
                        consider(date);
                    }
                }
            }
            continue;
        }
        // "December 1", "Dec 1st", "1 December"
        let day_at = |j: usize| -> Option<u8> {
            let t = ws.get(j)?;
            let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
            let rest = &t[digits.len()..];
            if digits.is_empty() || !(rest.is_empty() || ["st", "nd", "rd", "th"].contains(&rest)) {
                return None;
            }
            digits.parse().ok()
        };
        if let Some(m) = month_of(w) {
            let day = day_at(i + 1).or_else(|| i.checked_sub(1).and_then(day_at));
            if let Some(d) = day {
                for y in [today.year(), today.year() + 1] {
                    if let Ok(date) = Date::from_calendar_date(y, m, d) {
                        if date >= today {
                            consider(date);
                            break;
                        }
                    }
                }
            }
        }
    }
    best
}

pub fn categorise(message: &str, services: &[ServiceType], now: OffsetDateTime) -> Categorisation {
    let ws = words(message);
    let today = now.date();
    let incident = signal(&ws, INCIDENT);
    let rush = signal(&ws, RUSH);
    let days = [within_days(&ws), nearest_date(&ws, today)]
        .into_iter()
        .flatten()
        .min();
    let soon = signal(&ws, SOON) || days.is_some_and(|d| d <= 7);
    let later = signal(&ws, LATER) || days.is_some_and(|d| d <= 90);

    let priority = if incident || rush || soon {
        Priority::Urgent
    } else if later {
        Priority::High
    } else if services.iter().all(|s| *s == ServiceType::General) {
        Priority::Low
    } else {
        Priority::Medium
    };

    let mut tags: Vec<String> = services.iter().map(|s| s.id().to_string()).collect();
    for (kw, tag) in TOPICS {
        if !find_phrase(&ws, kw).is_empty() {
            tags.push((*tag).to_string());
        }
    }
    if incident {
        tags.push("incident".into());
    }
    if soon || later {
        tags.push("deadline".into());
    }
    tags.sort();
    tags.dedup();
    Categorisation { priority, tags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use ServiceType::*;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    #[test]
    fn priority_table() {
        let cases: &[(&str, &[ServiceType], Priority)] = &[
            // urgent: incidents and rush words
            (
                "Our production site is down since this morning",
                &[Optimization],
                Priority::Urgent,
            ),
            (
                "We had an outage last night",
                &[Assessment],
                Priority::Urgent,
            ),
            (
                "Possible data breach, need help",
                &[General],
                Priority::Urgent,
            ),
            ("Need this ASAP please", &[Migration], Priority::Urgent),
            (
                "Please call me as soon as possible",
                &[General],
                Priority::Urgent,
            ),
            ("Urgent: cost explosion", &[Optimization], Priority::Urgent),
            // urgent: deadlines within a week
            (
                "Board meeting tomorrow, need numbers",
                &[Assessment],
                Priority::Urgent,
            ),
            ("Can we talk this week?", &[General], Priority::Urgent),
            (
                "We must decide within 5 days",
                &[Migration],
                Priority::Urgent,
            ),
            ("Go-live is 2026-11-30", &[Migration], Priority::Urgent),
            (
                "Cut-over planned for November 28",
                &[Migration],
                Priority::Urgent,
            ),
            // high: other deadlines
            (
                "Contract renewal deadline approaching",
                &[Assessment],
                Priority::High,
            ),
            (
                "We want to migrate by end of quarter",
                &[Migration],
                Priority::High,
            ),
            (
                "Within 3 weeks we need a plan",
                &[ArchitectureReview],
                Priority::High,
            ),
            (
                "Launch on January 15th",
                &[ArchitectureReview],
                Priority::High,
            ),
            ("Target date 2027-01-20", &[Migration], Priority::High),
            // medium and low
            (
                "We would like to understand our options",
                &[Migration],
                Priority::Medium,
            ),
            (
                "Just a question about your rates",
                &[General],
                Priority::Low,
            ),
            (
                "General question plus an assessment",
                &[General, Assessment],
                Priority::Medium,
            ),
        ];
        for (msg, services, want) in cases {
            let got = categorise(msg, services, NOW).priority;
            assert_eq!(got, *want, "{msg:?}");
        }
    }

    #[test]
    fn signals_that_must_not_trigger() {
        let cases: &[(&str, &[ServiceType], Priority)] = &[
            ("This is not urgent at all", &[General], Priority::Low),
            ("There is no deadline for this", &[General], Priority::Low),
            (
                "We need zero downtime during the migration",
                &[Migration],
                Priority::Medium,
            ),
            (
                "The download speed from S3 matters",
                &[Optimization],
                Priority::Medium,
            ),
            (
                "Nothing is down, we plan ahead",
                &[Assessment],
                Priority::Medium,
            ),
            (
                "Our last review was on 2025-01-10",
                &[ArchitectureReview],
                Priority::Medium,
            ),
            ("We may add more services later", &[General], Priority::Low),
            ("Next March we might revisit", &[General], Priority::Low),
            ("Target date 2027-06-20", &[Migration], Priority::Medium),
            (
                "Invalid date 2026-13-45 in text",
                &[Migration],
                Priority::Medium,
            ),
            ("Meet on February 30", &[Migration], Priority::Medium),
        ];
        for (msg, services, want) in cases {
            let got = categorise(msg, services, NOW).priority;
            assert_eq!(got, *want, "{msg:?}");
        }
    }

    #[test]
    fn tags_come_from_services_and_topics() {
        let c = categorise(
            "Move our on-prem Postgres and Kubernetes to AWS, costs matter; outage last week",
            &[Migration, Optimization],
            NOW,
        );
        assert_eq!(
            c.tags,
            [
                "aws",
                "containers",
                "cost",
                "data",
                "incident",
                "migration",
                "on-premises",
                "optimization"
            ]
        );
        let plain = categorise("Hello", &[General], NOW);
        assert_eq!(plain.tags, ["general"]);
        // "ai" must be a whole word: "maintain" or "email" do not tag ai-ml.
        let c = categorise("We maintain email servers", &[General], NOW);
        assert!(!c.tags.contains(&"ai-ml".to_string()));
    }
}

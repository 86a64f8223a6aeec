//! The report drafted for an inquiry: Markdown content, where it is stored, and who
//! wrote it (a model id, or `template` when no model did).

use super::inquiry::InquiryId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `rep_` and a lowercase ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(String);

impl ReportId {
    /// The report of one `inquiry_created` event: derived from the event id so a
    /// redelivered event names the same report.
    pub fn for_event(event_id: &str) -> Self {
        let suffix = event_id.strip_prefix("evt_").unwrap_or(event_id);
        Self(format!("rep_{suffix}"))
    }

    pub fn parse(s: &str) -> Option<Self> {
        super::inquiry::is_prefixed_ulid(s, "rep_").then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Draft,
    Reviewed,
    Final,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Reviewed => "reviewed",
            Self::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Reviewed, Self::Final]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What wrote a report when no model did.
pub const TEMPLATE_AUTHOR: &str = "template";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: ReportId,
    pub inquiry_id: InquiryId,
    #[serde(rename = "type")]
    pub report_type: String,
    pub title: String,
    /// Markdown.
    pub content: String,
    pub status: ReportStatus,
    pub generated_by: String,
    pub reviewed_by: Option<String>,
    pub s3_key: String,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_follow_their_event() {
        let id = ReportId::for_event("evt_01arz3ndektsv4rrffq69g5fav");
        assert_eq!(id.as_str(), "rep_01arz3ndektsv4rrffq69g5fav");
        assert_eq!(ReportId::parse(id.as_str()), Some(id));
        assert!(ReportId::parse("rep_../x").is_none());
    }
}

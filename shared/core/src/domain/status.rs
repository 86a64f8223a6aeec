//! Inquiry statuses and the one table that says which moves are allowed.
//!
//! `closed` is terminal: a closed inquiry that comes back is a new inquiry, so that
//! reports and metrics of the old one stay as they were.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InquiryStatus {
    Pending,
    Processing,
    Reviewed,
    Responded,
    Closed,
}

impl InquiryStatus {
    pub const ALL: [InquiryStatus; 5] = [
        Self::Pending,
        Self::Processing,
        Self::Reviewed,
        Self::Responded,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Reviewed => "reviewed",
            Self::Responded => "responded",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The transition table. Work may step back one stage (a reviewer sends a
    /// report back, a prospect answers a response) but never skips ahead.
    pub fn allowed_next(self) -> &'static [InquiryStatus] {
        use InquiryStatus::*;
        match self {
            Pending => &[Processing, Closed],
            Processing => &[Reviewed, Pending, Closed],
            Reviewed => &[Responded, Processing, Closed],
            Responded => &[Processing, Closed],
            Closed => &[],
        }
    }

    pub fn can_move_to(self, next: InquiryStatus) -> bool {
        self.allowed_next().contains(&next)
    }
}

impl fmt::Display for InquiryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for InquiryStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for InquiryStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown status {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::InquiryStatus::*;
    use super::*;

    #[test]
    fn happy_path_is_allowed() {
        let path = [Pending, Processing, Reviewed, Responded, Closed];
        for w in path.windows(2) {
            assert!(w[0].can_move_to(w[1]), "{} -> {}", w[0], w[1]);
        }
    }

    #[test]
    fn skips_self_moves_and_reopening_are_refused() {
        for (from, to) in [
            (Pending, Reviewed),
            (Pending, Responded),
            (Processing, Responded),
            (Closed, Pending),
            (Closed, Processing),
        ] {
            assert!(!from.can_move_to(to), "{from} -> {to}");
        }
        for s in InquiryStatus::ALL {
            assert!(!s.can_move_to(s), "{s} -> {s}");
        }
    }
}

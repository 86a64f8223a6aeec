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

    /// The transition table, the one source of every statement of it (the 409's
    /// `allowed`, the OpenAPI document, the README through a test): one step forward
    /// along `ALL`, or one step back (a reviewer sends a report back, a prospect
    /// answers a response), never a skip, and `closed` is final.
    pub fn allowed_next(self) -> &'static [InquiryStatus] {
        use InquiryStatus::*;
        match self {
            Pending => &[Processing],
            Processing => &[Reviewed, Pending],
            Reviewed => &[Responded, Processing],
            Responded => &[Closed, Reviewed],
            Closed => &[],
        }
    }

    /// The table in words, as the OpenAPI document and the README state it.
    pub fn table_text() -> String {
        let moves: Vec<String> = Self::ALL
            .iter()
            .filter(|s| !s.allowed_next().is_empty())
            .map(|s| {
                let to: Vec<&str> = s.allowed_next().iter().map(|t| t.as_str()).collect();
                format!("{s} → {}", to.join(" or "))
            })
            .collect();
        let finals: Vec<&str> = Self::ALL
            .iter()
            .filter(|s| s.allowed_next().is_empty())
            .map(|s| s.as_str())
            .collect();
        format!("{}; {} is final", moves.join("; "), finals.join(", "))
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
    fn exactly_one_step_forward_or_back_and_closed_is_final() {
        let at = |s: InquiryStatus| InquiryStatus::ALL.iter().position(|x| *x == s).unwrap();
        for from in InquiryStatus::ALL {
            for to in InquiryStatus::ALL {
                let adjacent = at(from).abs_diff(at(to)) == 1;
                assert_eq!(
                    from.can_move_to(to),
                    adjacent && from != Closed,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn the_table_reads_as_it_is() {
        assert_eq!(
            InquiryStatus::table_text(),
            "pending → processing; processing → reviewed or pending; \
             reviewed → responded or processing; responded → closed or reviewed; \
             closed is final"
        );
    }
}

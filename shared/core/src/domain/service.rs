//! The services a prospect can ask for, in the order the web form lists them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceType {
    Assessment,
    Migration,
    Optimization,
    ArchitectureReview,
    General,
}

impl ServiceType {
    pub const ALL: [ServiceType; 5] = [
        ServiceType::Assessment,
        ServiceType::Migration,
        ServiceType::Optimization,
        ServiceType::ArchitectureReview,
        ServiceType::General,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Assessment => "assessment",
            Self::Migration => "migration",
            Self::Optimization => "optimization",
            Self::ArchitectureReview => "architecture_review",
            Self::General => "general",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Assessment => "Cloud Assessment",
            Self::Migration => "Cloud Migration",
            Self::Optimization => "Cloud Optimization",
            Self::ArchitectureReview => "Architecture Review",
            Self::General => "General Inquiry",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Assessment => {
                "A review of your current cloud estate: security, reliability, cost and readiness, with a prioritised plan."
            }
            Self::Migration => {
                "Planning and running the move of workloads to AWS: discovery, wave planning, cut-over and validation."
            }
            Self::Optimization => {
                "Cutting cost and improving performance of what already runs in the cloud: rightsizing, pricing models, architecture changes."
            }
            Self::ArchitectureReview => {
                "A Well-Architected review of a workload or design, with findings ranked by risk and concrete remediations."
            }
            Self::General => "Anything else about the cloud: ask us and we will route it to the right consultant.",
        }
    }

    /// The kind of report drafted for an inquiry whose first service this is.
    pub fn report_type(self) -> &'static str {
        match self {
            Self::ArchitectureReview => "architecture",
            other => other.id(),
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for ServiceType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for ServiceType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ServiceType::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown service {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_report_types_follow_api() {
        for s in ServiceType::ALL {
            assert_eq!(ServiceType::parse(s.id()), Some(s));
        }
        assert_eq!(ServiceType::parse("Migration"), None);
        assert_eq!(
            ServiceType::ArchitectureReview.report_type(),
            "architecture"
        );
        assert_eq!(ServiceType::General.report_type(), "general");
    }
}

//! Hooks: the firm's own automation on business events. Each names an event, a
//! filter (services, priorities; empty means any) and one action. Secrets (a
//! webhook's signing key, a Slack URL) are never serialised back out.

use super::categorise::Priority;
use super::email::Email;
use super::event::EventType;
use super::inquiry::Inquiry;
use super::service::ServiceType;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HookAction {
    /// POST the event as JSON, signed with HMAC-SHA256 over `timestamp.body`.
    Webhook {
        url: String,
        secret: String,
    },
    Slack {
        url: String,
    },
    Email {
        to: Vec<Email>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct HookFilter {
    #[serde(default)]
    pub services: Vec<ServiceType>,
    #[serde(default)]
    pub priorities: Vec<Priority>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hook {
    pub id: String,
    pub name: String,
    pub event: EventType,
    #[serde(default)]
    pub filter: HookFilter,
    pub action: HookAction,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub created_at: String,
}

fn enabled() -> bool {
    true
}

impl Hook {
    pub fn matches(&self, event: EventType, inquiry: &Inquiry) -> bool {
        self.enabled
            && self.event == event
            && (self.filter.services.is_empty()
                || inquiry
                    .services
                    .iter()
                    .any(|s| self.filter.services.contains(s)))
            && (self.filter.priorities.is_empty()
                || self.filter.priorities.contains(&inquiry.priority))
    }

    /// The hook as the admin API shows it: no secret, no Slack URL.
    pub fn public_view(&self) -> Value {
        let action = match &self.action {
            HookAction::Webhook { url, .. } => {
                json!({"type": "webhook", "url": shown_url(url), "signed": true})
            }
            HookAction::Slack { .. } => json!({"type": "slack"}),
            HookAction::Email { to } => json!({"type": "email", "to": to}),
        };
        json!({"id": self.id, "name": self.name, "event": self.event, "filter": self.filter,
               "action": action, "enabled": self.enabled, "created_at": self.created_at})
    }
}

/// A URL as the admin API may show it: scheme, host, port and path. Receivers
/// often carry a token in the query string or in the userinfo, so both go, and
/// the fragment with them. Anything up to the last `@` before the query is taken
/// for userinfo, even where a lenient parser would read a path: showing too little
/// of a path is harmless, showing a password is not.
pub fn shown_url(url: &str) -> String {
    let before_query = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), before_query),
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    format!("{scheme}{rest}")
}

/// Parses a JSON list of hooks, checking ids are unique and usable in keys.
pub fn parse_hooks(json: &str) -> Result<Vec<Hook>, String> {
    let hooks: Vec<Hook> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut ids = std::collections::HashSet::new();
    for h in &hooks {
        if !super::inquiry::is_key_name(&h.id) || !ids.insert(h.id.clone()) {
            return Err(format!(
                "hook id {:?} must be unique, 1 to 64 of [A-Za-z0-9_-]",
                h.id
            ));
        }
        if let HookAction::Webhook { secret, .. } = &h.action {
            if secret.len() < 16 {
                return Err(format!(
                    "hook {:?}: the webhook secret must be at least 16 characters",
                    h.id
                ));
            }
        }
    }
    Ok(hooks)
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn shown_urls_keep_no_query_fragment_or_userinfo() {
        for (given, shown) in [
            ("https://h.example/p?token=x#f", "https://h.example/p"),
            ("https://u:pw@h.example:8443/p", "https://h.example:8443/p"),
            ("https://u:p/w@h.example/p?q", "https://h.example/p"),
            ("http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"),
            ("h.example/p?x", "h.example/p"),
        ] {
            assert_eq!(shown_url(given), shown, "{given}");
        }
    }
}

//! The AI-consultant chat: sessions, messages, and the rules a question's text and a
//! session's fields must follow. The socket's frame protocol is the app's
//! (`app::chat_frames`): it is how the chat travels, not what it is.

use super::inquiry::{is_key_name, is_prefixed_ulid, InquiryId};
use super::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// Longest question or answer piece a client may send, in characters.
pub const MAX_CONTENT_CHARS: usize = 4000;
/// Size bound on a session's free-form `context` and `metadata`, serialised.
pub const MAX_JSON_BYTES: usize = 8 * 1024;
pub const MAX_CLIENT_NAME: usize = 200;

/// A session id: `chat_<ulid>` when the server makes one, or a name the client
/// chose (the dashboard names its own sessions). Either way 1–64 characters of
/// `[A-Za-z0-9_-]`, so it can never smuggle a key separator into the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// What `parse` accepts, in the words an error message uses.
    pub const RULE: &'static str = "must be 1 to 64 letters, digits, _ or -";
    /// The same, as a regular expression (for the API's description).
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,64}$";

    pub fn new(id: ulid::Ulid) -> Self {
        Self(format!("chat_{}", id.to_string().to_lowercase()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        is_key_name(s).then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored message's id, `msg_<ulid>`: sorts by creation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// What `parse` accepts, as a regular expression (for the API's description).
    pub const PATTERN: &'static str = "^msg_[0-9a-z]{26}$";

    pub fn new(id: ulid::Ulid) -> Self {
        Self(format!("msg_{}", id.to_string().to_lowercase()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        is_prefixed_ulid(s, "msg_").then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Inactive,
    /// Idle past its expiry; read-only from then on.
    Expired,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 3] = [Self::Active, Self::Inactive, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// A session as API.md's ChatSession object. `status` is as stored; `effective_status`
/// folds in the expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSession {
    pub id: SessionId,
    pub user_id: String,
    pub client_name: String,
    pub context: Value,
    pub status: SessionStatus,
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: String,
    pub last_activity: String,
    pub expires_at: String,
}

impl ChatSession {
    pub fn effective_status(&self, now: &str) -> SessionStatus {
        if self.expires_at.as_str() <= now {
            SessionStatus::Expired
        } else {
            self.status
        }
    }

    /// The inquiry the session is about, when its context names one: either
    /// `{"inquiry_id": "inq_…"}` or the id alone.
    pub fn inquiry(&self) -> Option<InquiryId> {
        context_inquiry(&self.context)
    }
}

pub fn context_inquiry(context: &Value) -> Option<InquiryId> {
    match context {
        Value::String(s) => InquiryId::parse(s.trim()),
        Value::Object(m) => m
            .get("inquiry_id")
            .and_then(Value::as_str)
            .and_then(InquiryId::parse),
        _ => None,
    }
}

/// Whether a stored answer is whole or was cut short by a model failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: MessageId,
    pub session_id: SessionId,
    pub role: Role,
    pub content: String,
    pub metadata: Value,
    pub status: MessageStatus,
    pub created_at: String,
}

impl ChatMessage {
    /// The message as the HTTP routes show it: both dashboard shapes at once
    /// (`role` and `type`, `created_at` and `timestamp`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "session_id": self.session_id,
            "role": self.role,
            "type": self.role,
            "content": self.content,
            "metadata": self.metadata,
            "status": self.status,
            "created_at": self.created_at,
            "timestamp": self.created_at,
        })
    }
}

/// Text a person typed: no control characters other than line breaks and tabs.
pub fn clean_text(s: &str) -> bool {
    super::inquiry::is_clean(s, true)
}

/// The fields a session's creator or editor may set, each already checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFields {
    pub client_name: Option<String>,
    pub context: Option<Value>,
    pub status: Option<SessionStatus>,
    pub metadata: Option<Value>,
}

impl SessionFields {
    /// Reads `{client_name?, context?, status?, metadata?}`, every bad field at
    /// once. `status` is the server's on creation (ignored there, as API.md has the
    /// server ignore what it owns), and may never be set to `expired`.
    pub fn parse(body: &Value, allow_status: bool) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut out = Self::default();
        let Some(obj) = body.as_object() else {
            errors.insert("body".into(), "must be a JSON object".into());
            return Err(errors);
        };
        match obj.get("client_name") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => match check_client_name(s) {
                Ok(v) => out.client_name = Some(v),
                Err(e) => {
                    errors.insert("client_name".into(), e);
                }
            },
            Some(_) => {
                errors.insert("client_name".into(), "must be a string".into());
            }
        }
        match obj.get("context") {
            None => {}
            Some(v) => match check_context(v) {
                Ok(v) => out.context = Some(v),
                Err(e) => {
                    errors.insert("context".into(), e);
                }
            },
        }
        match obj.get("metadata") {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) if json_len(v) <= MAX_JSON_BYTES => {
                out.metadata = Some(v.clone())
            }
            Some(Value::Object(_)) => {
                errors.insert(
                    "metadata".into(),
                    format!("must be at most {MAX_JSON_BYTES} bytes of JSON"),
                );
            }
            Some(_) => {
                errors.insert("metadata".into(), "must be an object".into());
            }
        }
        match obj.get("status") {
            None | Some(Value::Null) => {}
            Some(_) if !allow_status => {}
            Some(v) => match v.as_str().and_then(SessionStatus::parse) {
                Some(s @ (SessionStatus::Active | SessionStatus::Inactive)) => out.status = Some(s),
                _ => {
                    errors.insert("status".into(), "must be one of active, inactive".into());
                }
            },
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

fn check_client_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.chars().count() > MAX_CLIENT_NAME || !clean_text(t) {
        return Err(format!(
            "must be at most {MAX_CLIENT_NAME} characters without control characters"
        ));
    }
    Ok(t.to_string())
}

/// A context is free text or an object; an `inquiry_id` in it must be an inquiry id.
fn check_context(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::String(s) if !clean_text(s) => Err("must not contain control characters".into()),
        Value::Object(m)
            if m.get("inquiry_id").is_some_and(|i| {
                !i.is_null() && i.as_str().and_then(InquiryId::parse).is_none()
            }) =>
        {
            Err("inquiry_id must be an inquiry id (inq_…)".into())
        }
        Value::String(_) | Value::Object(_) if json_len(v) <= MAX_JSON_BYTES => Ok(v.clone()),
        Value::String(_) | Value::Object(_) => {
            Err(format!("must be at most {MAX_JSON_BYTES} bytes of JSON"))
        }
        _ => Err("must be a string or an object".into()),
    }
}

/// A question's text: 1–4000 characters, not blank, no control characters.
pub fn check_content(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if s.trim().is_empty() || n > MAX_CONTENT_CHARS {
        return Err(format!("must be 1 to {MAX_CONTENT_CHARS} characters"));
    }
    if !clean_text(s) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_safe_names() {
        assert!(SessionId::parse("chat_01hx").is_some());
        assert!(SessionId::parse("health-check").is_some());
        for bad in ["", "a#b", "a b", "x/../y", &"a".repeat(65), "é"] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn session_fields_report_every_bad_field() {
        let errs = SessionFields::parse(
            &json!({"client_name": 5, "context": 3, "metadata": "x", "status": "active"}),
            false,
        )
        .unwrap_err();
        assert_eq!(
            errs.keys().collect::<Vec<_>>(),
            ["client_name", "context", "metadata"],
            "status is the server's on creation: ignored"
        );
        let ok = SessionFields::parse(
            &json!({"client_name": " Acme ", "context": {"inquiry_id": "inq_01hx0000000000000000000000"}, "status": "inactive"}),
            true,
        )
        .unwrap();
        assert_eq!(ok.client_name.as_deref(), Some("Acme"));
        assert_eq!(ok.status, Some(SessionStatus::Inactive));
        assert!(SessionFields::parse(&json!({"status": "expired"}), true).is_err());
    }
}

//! The AI-consultant chat: sessions, messages, and the WebSocket frame protocol of
//! API.md. Frames are parsed here into `ClientFrame` (or a `FrameError` carrying the
//! code the error frame shows), and every server frame is built here, so the Lambda
//! and dev-server entry points cannot drift apart.

use super::inquiry::{is_key_name, is_prefixed_ulid, InquiryId};
use super::{rfc3339, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;

/// Longest question or answer piece a client may send, in characters.
pub const MAX_CONTENT_CHARS: usize = 4000;
/// Longest incoming frame, in bytes; API Gateway's own frame limit is 32 KB.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Characters per `chunk` frame. Even if every character needed a six-byte JSON
/// escape the frame stays under 32 KB.
pub const CHUNK_CHARS: usize = 4000;
/// Size bound on a session's free-form `context` and `metadata`, serialised.
const MAX_JSON_BYTES: usize = 8 * 1024;
const MAX_CLIENT_NAME: usize = 200;

/// A session id: `chat_<ulid>` when the server makes one, or a name the client
/// chose (the dashboard names its own sessions). Either way 1–64 characters of
/// `[A-Za-z0-9_-]`, so it can never smuggle a key separator into the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// What `parse` accepts, in the words an error message uses.
    pub const RULE: &'static str = "must be 1 to 64 letters, digits, _ or -";

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
fn clean_text(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
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
    /// once. `status` may only be set on an existing session, and never to `expired`.
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
            Some(_) if !allow_status => {
                errors.insert("status".into(), "is set by the server on creation".into());
            }
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

/// A question from the client, as a `message` frame carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The client's id for its message, echoed in the `ack`; a resend with the
    /// same id is answered from the stored answer, never a second time.
    pub message_id: Option<String>,
    /// `None` starts a new session.
    pub session_id: Option<SessionId>,
    pub content: String,
    pub client_name: Option<String>,
    pub context: Option<Value>,
}

/// A frame the client sent, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Message(Question),
    Heartbeat,
}

/// Why a frame was refused: the `error` frame's content and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub reason: String,
}

impl FrameError {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

pub fn parse_frame(text: &str) -> Result<ClientFrame, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::new(
            "FRAME_TOO_LARGE",
            format!("frames are at most {MAX_FRAME_BYTES} bytes"),
        ));
    }
    let invalid = |r: &str| FrameError::new("INVALID_FRAME", r);
    let value: Value = serde_json::from_str(text)
        .map_err(|_| invalid("frames are JSON objects: {type, session_id, content, …}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("frames are JSON objects: {type, session_id, content, …}"))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("heartbeat") => Ok(ClientFrame::Heartbeat),
        Some("message") => parse_message(obj),
        Some(other) => Err(invalid(&format!(
            "unknown frame type {:?}; expected message or heartbeat",
            other.chars().take(40).collect::<String>()
        ))),
        None => Err(invalid("a frame needs a type: message or heartbeat")),
    }
}

fn parse_message(obj: &Map<String, Value>) -> Result<ClientFrame, FrameError> {
    let bad =
        |field: &str, why: &str| FrameError::new("VALIDATION_ERROR", format!("{field} {why}"));
    let content = match obj.get("content") {
        Some(Value::String(s)) => check_content(s).map_err(|e| bad("content", &e))?,
        _ => return Err(bad("content", "is required")),
    };
    let message_id = match obj.get("message_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if (1..=128).contains(&s.len()) && clean_text(s) => Some(s.clone()),
        Some(_) => return Err(bad("message_id", "must be a string of 1 to 128 characters")),
    };
    let session_id = match obj.get("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            Some(SessionId::parse(s).ok_or_else(|| bad("session_id", SessionId::RULE))?)
        }
        Some(_) => return Err(bad("session_id", "must be a string")),
    };
    let (mut client_name, mut context) = (None, None);
    match obj.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            let fields = SessionFields::parse(
                &json!({"client_name": m.get("client_name"), "context": m.get("context").cloned().unwrap_or(Value::Null)}),
                false,
            )
            .map_err(|errs| {
                let (k, v) = errs.into_iter().next().unwrap_or_default();
                bad(&format!("metadata.{k}"), &v)
            })?;
            client_name = fields.client_name;
            context = fields.context.filter(|c| !c.is_null());
        }
        Some(_) => return Err(bad("metadata", "must be an object")),
    }
    Ok(ClientFrame::Message(Question {
        message_id,
        session_id,
        content,
        client_name,
        context,
    }))
}

/// The frames the server sends, as API.md lists them.
pub mod frames {
    use super::*;

    fn frame(
        kind: &str,
        session: Option<&SessionId>,
        message_id: Option<&str>,
        content: Option<&str>,
        metadata: Value,
        now: time::OffsetDateTime,
    ) -> String {
        let mut f = json!({
            "type": kind,
            "session_id": session.map_or("", |s| s.as_str()),
            "metadata": metadata,
            "timestamp": rfc3339(now),
        });
        if let Some(m) = message_id {
            f["message_id"] = json!(m);
        }
        if let Some(c) = content {
            f["content"] = json!(c);
        }
        f.to_string()
    }

    pub fn ack(client_id: &str, session: &SessionId, now: time::OffsetDateTime) -> String {
        frame(
            "ack",
            Some(session),
            Some(client_id),
            None,
            json!({"status": "received"}),
            now,
        )
    }

    pub fn chunk(
        answer: &MessageId,
        session: &SessionId,
        piece: &str,
        now: time::OffsetDateTime,
    ) -> String {
        frame(
            "chunk",
            Some(session),
            Some(answer.as_str()),
            Some(piece),
            json!({}),
            now,
        )
    }

    pub fn message(answer: &ChatMessage, now: time::OffsetDateTime) -> String {
        let mut meta = json!({
            "message_type": "assistant",
            "success": answer.status == MessageStatus::Complete,
        });
        if let Some(by) = answer.metadata.get("generated_by") {
            meta["generated_by"] = by.clone();
        }
        frame(
            "message",
            Some(&answer.session_id),
            Some(answer.id.as_str()),
            Some(&answer.content),
            meta,
            now,
        )
    }

    pub fn heartbeat(now: time::OffsetDateTime) -> String {
        frame(
            "heartbeat",
            None,
            None,
            None,
            json!({"status": "alive"}),
            now,
        )
    }

    pub fn error(e: &FrameError, session: Option<&SessionId>, now: time::OffsetDateTime) -> String {
        frame(
            "error",
            session,
            None,
            Some(&e.reason),
            json!({"code": e.code}),
            now,
        )
    }
}

/// Cuts text into pieces of at most `max` characters, on character boundaries.
pub fn split_chars(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest
            .char_indices()
            .nth(max.max(1))
            .map_or(rest.len(), |(i, _)| i);
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out
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
    fn frames_parse_or_say_why() {
        let f = parse_frame(r#"{"type":"message","message_id":"c1","session_id":"","content":"hi","metadata":{"client_name":"Acme","context":"inq_01hx0000000000000000000000"}}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Message(Question {
                message_id: Some("c1".into()),
                session_id: None,
                content: "hi".into(),
                client_name: Some("Acme".into()),
                context: Some(json!("inq_01hx0000000000000000000000")),
            })
        );
        assert_eq!(
            parse_frame(r#"{"type":"heartbeat"}"#).unwrap(),
            ClientFrame::Heartbeat
        );
        let code = |t: &str| parse_frame(t).unwrap_err().code;
        assert_eq!(code("not json"), "INVALID_FRAME");
        assert_eq!(code("[1,2]"), "INVALID_FRAME");
        assert_eq!(code(r#"{"type":"shout"}"#), "INVALID_FRAME");
        assert_eq!(code(r#"{"content":"x"}"#), "INVALID_FRAME");
        assert_eq!(code(r#"{"type":"message"}"#), "VALIDATION_ERROR");
        assert_eq!(
            code(r#"{"type":"message","content":"   "}"#),
            "VALIDATION_ERROR"
        );
        assert_eq!(
            code(r#"{"type":"message","content":"a\u0000b"}"#),
            "VALIDATION_ERROR"
        );
        assert_eq!(
            code(r#"{"type":"message","content":"x","session_id":"a#b"}"#),
            "VALIDATION_ERROR"
        );
        assert_eq!(
            code(
                r#"{"type":"message","content":"x","metadata":{"context":{"inquiry_id":"nope"}}}"#
            ),
            "VALIDATION_ERROR"
        );
        let long = format!(r#"{{"type":"message","content":"{}"}}"#, "x".repeat(4001));
        assert_eq!(code(&long), "VALIDATION_ERROR");
        let huge = format!(r#"{{"type":"message","content":"{}"}}"#, "x".repeat(40_000));
        assert_eq!(code(&huge), "FRAME_TOO_LARGE");
    }

    #[test]
    fn a_chunk_frame_stays_under_32_kb_whatever_the_text() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let worst = "\u{1}".repeat(10_000);
        let s = SessionId::parse(&"s".repeat(64)).unwrap();
        let id = MessageId::new(ulid::Ulid::nil());
        for piece in split_chars(&worst, CHUNK_CHARS) {
            assert!(frames::chunk(&id, &s, piece, now).len() < 32 * 1024);
        }
        assert_eq!(split_chars("héllo", 2), vec!["hé", "ll", "o"]);
        assert!(split_chars("", 3).is_empty());
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
            ["client_name", "context", "metadata", "status"]
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

//! The chat WebSocket's frame protocol (API.md): a client's frame is parsed here into
//! a `ClientFrame`, or a `FrameError` carrying the code the error frame shows, and
//! every server frame is built here, so the Lambda and dev-server entry points
//! cannot drift apart.

use super::ErrorCode;
use crate::domain::chat::{
    check_content, clean_text, ChatMessage, MessageId, MessageStatus, SessionFields, SessionId,
};
use crate::domain::rfc3339;
use serde_json::{json, Map, Value};

/// Longest incoming frame, in bytes; API Gateway's own frame limit is 32 KB.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Characters per `chunk` frame. Even if every character needed a six-byte JSON
/// escape the frame stays under 32 KB.
pub const CHUNK_CHARS: usize = 4000;

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
    pub code: ErrorCode,
    pub reason: String,
}

impl FrameError {
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

pub fn parse_frame(text: &str) -> Result<ClientFrame, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::new(
            ErrorCode::FrameTooLarge,
            format!("frames are at most {MAX_FRAME_BYTES} bytes"),
        ));
    }
    let invalid = |r: &str| FrameError::new(ErrorCode::InvalidFrame, r);
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
    let bad = |field: &str, why: &str| {
        FrameError::new(ErrorCode::ValidationError, format!("{field} {why}"))
    };
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
            json!({"code": e.code.as_str()}),
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
        assert_eq!(code("not json"), ErrorCode::InvalidFrame);
        assert_eq!(code("[1,2]"), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"type":"shout"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"content":"x"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"type":"message"}"#), ErrorCode::ValidationError);
        assert_eq!(
            code(r#"{"type":"message","content":"   "}"#),
            ErrorCode::ValidationError
        );
        assert_eq!(
            code(r#"{"type":"message","content":"a\u0000b"}"#),
            ErrorCode::ValidationError
        );
        assert_eq!(
            code(r#"{"type":"message","content":"x","session_id":"a#b"}"#),
            ErrorCode::ValidationError
        );
        assert_eq!(
            code(
                r#"{"type":"message","content":"x","metadata":{"context":{"inquiry_id":"nope"}}}"#
            ),
            ErrorCode::ValidationError
        );
        let long = format!(r#"{{"type":"message","content":"{}"}}"#, "x".repeat(4001));
        assert_eq!(code(&long), ErrorCode::ValidationError);
        let huge = format!(r#"{{"type":"message","content":"{}"}}"#, "x".repeat(40_000));
        assert_eq!(code(&huge), ErrorCode::FrameTooLarge);
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
}

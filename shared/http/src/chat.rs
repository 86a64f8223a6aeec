//! The chat's HTTP routes for the dashboard: session CRUD and history, chat figures
//! and health, and the two message routes (`simple-chat` and `chat`) that ask a
//! question and wait for the whole answer. All of them go through the one chat
//! service the WebSocket uses, so every entry point shows the same history.

use super::error::ApiError;
use super::extract::JsonBody;
use super::query::{bound, one_of, param, params, IntParam, Params, QueryParam};
use super::routes::Route;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use backend_core::app::auth::Claims;
use backend_core::app::chat::{ChatService, NoSink};
use backend_core::app::Missing;
use backend_core::domain::chat::{
    check_content, ChatMessage, MessageId, SessionFields, SessionId, SessionStatus,
};
use backend_core::domain::FieldErrors;
use serde_json::{json, Value};
use std::sync::Arc;

fn session_statuses() -> Vec<&'static str> {
    SessionStatus::ALL.map(|s| s.as_str()).to_vec()
}

const SESSIONS_LIMIT: IntParam = IntParam::limit(20, 100);
const MESSAGES_LIMIT: IntParam = IntParam::limit(50, 500);
const SESSION_PARAM: QueryParam =
    QueryParam::text("session_id", Some(SessionId::PATTERN)).required();

pub fn table() -> Vec<Route> {
    const SESSION: &str = "/api/v1/admin/chat/sessions/{id}";
    vec![
        Route::new(
            Method::POST,
            "/api/v1/admin/chat/sessions",
            post(create_session),
        )
        .admin()
        .doc("chat", "Start a chat session")
        .body("ChatSessionNew")
        // Its context names an erased inquiry.
        .errors(&[409])
        .ok(201, Some("ChatSessionEnvelope")),
        Route::new(
            Method::GET,
            "/api/v1/admin/chat/sessions",
            get(list_sessions),
        )
        .admin()
        .doc("chat", "Chat sessions, newest first, with offset paging")
        .query(
            const {
                &[
                    QueryParam::one_of("status", session_statuses),
                    SESSIONS_LIMIT.doc(),
                    IntParam::OFFSET.doc(),
                ]
            },
        )
        .ok(200, Some("ChatSessionPage")),
        Route::new(Method::GET, SESSION, get(get_session))
            .admin()
            .doc("chat", "One chat session")
            .ok(200, Some("ChatSessionEnvelope")),
        Route::new(Method::PUT, SESSION, axum::routing::put(update_session))
            .admin()
            .doc(
                "chat",
                "Change a session's name, context, status or metadata",
            )
            .body("ChatSessionFields")
            // An expired session, or a context naming an erased inquiry.
            .errors(&[409])
            .ok(200, Some("ChatSessionEnvelope")),
        Route::new(
            Method::DELETE,
            SESSION,
            axum::routing::delete(delete_session),
        )
        .admin()
        .doc("chat", "Delete a session and its messages")
        .ok(200, Some("Deleted")),
        Route::new(
            Method::GET,
            "/api/v1/admin/chat/sessions/{id}/history",
            get(history),
        )
        .admin()
        .doc(
            "chat",
            "A session's newest messages (older pages with `before`) and figures",
        )
        .query(
            const {
                &[
                    MESSAGES_LIMIT.doc(),
                    QueryParam::text("before", Some(MessageId::PATTERN)),
                ]
            },
        )
        .ok(200, Some("ChatHistory")),
        Route::new(Method::GET, "/api/v1/admin/chat/metrics", get(metrics))
            .admin()
            .doc("chat", "Chat figures")
            .ok(200, Some("ChatMetrics")),
        Route::new(Method::GET, "/api/v1/admin/chat/health", get(health))
            .admin()
            .doc("chat", "Whether the chat can answer, and who answers")
            .ok(200, Some("ChatHealth")),
        Route::new(
            Method::POST,
            "/api/v1/admin/simple-chat/messages",
            post(simple_ask),
        )
        .admin()
        .doc("chat", "Ask a question; stores it with the answer")
        .body("SimpleChatQuestion")
        .ok(200, Some("SimpleChatAnswer")),
        Route::new(
            Method::GET,
            "/api/v1/admin/simple-chat/messages",
            get(simple_messages),
        )
        .admin()
        .doc("chat", "A session's messages, oldest first")
        .query(const { &[SESSION_PARAM] })
        .ok(200, Some("ChatMessages")),
        Route::new(Method::POST, "/api/v1/admin/chat/messages", post(ask))
            .admin()
            .doc(
                "chat",
                "Ask a question in a session; answers with the reply",
            )
            .body("ChatQuestion")
            .ok(200, Some("ChatAnswer")),
        Route::new(Method::GET, "/api/v1/admin/chat/messages", get(messages))
            .admin()
            .doc("chat", "A session's messages after a time, oldest first")
            .query(
                const {
                    &[
                        SESSION_PARAM,
                        MESSAGES_LIMIT.doc(),
                        QueryParam::time("since"),
                    ]
                },
            )
            .ok(200, Some("ChatMessages")),
    ]
}

fn service(s: &AppState) -> Result<&ChatService, ApiError> {
    s.chat
        .as_ref()
        .ok_or_else(|| ApiError::unconfigured("The chat is"))
}

fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).ok_or_else(|| ApiError::not_found(Missing::ChatSession))
}

async fn create_session(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let f = SessionFields::parse(&body, false).map_err(|e| ApiError::validation(&e))?;
    let session = service(&s)?.create(&claims.sub, f).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"success": true, "data": session})),
    )
        .into_response())
}

async fn list_sessions(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let p = params(p)?;
    let mut fields = FieldErrors::new();
    let status = param(
        &p,
        "status",
        SessionStatus::parse,
        &one_of(session_statuses()),
        &mut fields,
    );
    let limit = SESSIONS_LIMIT.read(&p, &mut fields);
    let offset = IntParam::OFFSET.read(&p, &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    let (sessions, total) = service(&s)?
        .list(&claims.sub, status, limit, offset)
        .await?;
    Ok(Json(json!({
        "success": true,
        "data": {"sessions": sessions, "total_count": total, "limit": limit, "offset": offset},
    })))
}

async fn get_session(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let session = service(&s)?.get(&claims.sub, &session_id(&id)?).await?;
    Ok(Json(json!({"success": true, "data": session})))
}

async fn update_session(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = session_id(&id)?;
    let f = SessionFields::parse(&body, true).map_err(|e| ApiError::validation(&e))?;
    let session = service(&s)?.update(&claims.sub, &id, f).await?;
    Ok(Json(json!({"success": true, "data": session})))
}

async fn delete_session(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    service(&s)?.delete(&claims.sub, &session_id(&id)?).await?;
    Ok(Json(
        json!({"success": true, "message": "Session deleted successfully"}),
    ))
}

async fn history(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    Path(id): Path<String>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let id = session_id(&id)?;
    let p = params(p)?;
    let mut fields = FieldErrors::new();
    let limit = MESSAGES_LIMIT.read(&p, &mut fields);
    let before = param(
        &p,
        "before",
        MessageId::parse,
        "must be a message id this API returned",
        &mut fields,
    );
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    let (messages, stats, more) = service(&s)?
        .history(&claims.sub, &id, limit, before.as_ref())
        .await?;
    let next_before = more
        .then(|| messages.first().map(|m| m.id.clone()))
        .flatten();
    let messages: Vec<Value> = messages.iter().map(ChatMessage::to_json).collect();
    Ok(Json(json!({
        "success": true,
        "data": {"messages": messages, "stats": stats, "limit": limit, "has_more": more, "next_before": next_before},
    })))
}

async fn metrics(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let data = service(&s)?.metrics().await?;
    Ok(Json(json!({"success": true, "data": data})))
}

async fn health(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let h = service(&s)?.health().await;
    let ok = h.store.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let data = json!({
        "status": if ok { "healthy" } else { "unhealthy" },
        "checks": {
            "store": match &h.store { Ok(()) => "ok".to_string(), Err(e) => format!("error: {e}") },
            "model": h.model,
        },
        "time": h.at,
    });
    Ok((status, Json(json!({"success": ok, "data": data}))).into_response())
}

/// `content` and the session named by `session_id` (required or not), every bad
/// field at once.
fn question(body: &Value, session_required: bool) -> Result<(String, Option<SessionId>), ApiError> {
    let mut fields = FieldErrors::new();
    let content = match body.get("content").and_then(Value::as_str) {
        Some(c) => check_content(c)
            .map_err(|e| fields.insert("content".into(), e))
            .ok(),
        None => {
            fields.insert("content".into(), "is required".into());
            None
        }
    };
    let session = match body.get("session_id") {
        None | Some(Value::Null) if !session_required => None,
        Some(Value::String(v)) if v.is_empty() && !session_required => None,
        Some(Value::String(v)) => {
            let id = SessionId::parse(v);
            if id.is_none() {
                fields.insert("session_id".into(), SessionId::RULE.into());
            }
            id
        }
        _ => {
            fields.insert("session_id".into(), "is required".into());
            None
        }
    };
    match content {
        Some(c) if fields.is_empty() => Ok((c, session)),
        _ => Err(ApiError::validation(&fields)),
    }
}

async fn simple_ask(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let (content, id) = question(&body, false)?;
    let chat = service(&s)?;
    let session = chat.open(&claims.sub, id, SessionFields::default()).await?;
    let turn = chat.answer(&session, &content, None, &NoSink).await?;
    Ok(Json(json!({
        "success": true,
        "message_id": turn.question.id,
        "session_id": session.id,
        "response": turn.answer.to_json(),
    })))
}

/// The `session_id` query parameter, required.
fn session_param(
    p: &std::collections::HashMap<String, String>,
    fields: &mut FieldErrors,
) -> Option<SessionId> {
    if p.get("session_id").is_none_or(|v| v.is_empty()) {
        fields.insert("session_id".into(), "is required".into());
        return None;
    }
    param(p, "session_id", SessionId::parse, SessionId::RULE, fields)
}

/// A session's messages as the two message routes read them: `session_id`, and
/// when `paged` also `limit` and `since`; every bad parameter at once.
async fn session_messages(
    s: &AppState,
    claims: &Claims,
    p: Params,
    paged: bool,
) -> Result<(Vec<Value>, bool), ApiError> {
    let p = params(p)?;
    let mut fields = FieldErrors::new();
    let id = session_param(&p, &mut fields);
    let (limit, since) = if paged {
        let limit = MESSAGES_LIMIT.read(&p, &mut fields);
        let since = param(
            &p,
            "since",
            bound,
            "must be a date (YYYY-MM-DD) or an RFC 3339 time",
            &mut fields,
        );
        (limit, since)
    } else {
        (1000, None)
    };
    let Some(id) = id.filter(|_| fields.is_empty()) else {
        return Err(ApiError::validation(&fields));
    };
    let (messages, more) = service(s)?
        .messages(&claims.sub, &id, since.as_deref(), limit)
        .await?;
    Ok((messages.iter().map(ChatMessage::to_json).collect(), more))
}

async fn simple_messages(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let (messages, _) = session_messages(&s, &claims, p, false).await?;
    Ok(Json(json!({"success": true, "messages": messages})))
}

async fn ask(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let (content, id) = question(&body, true)?;
    let mut fields = FieldErrors::new();
    let client_name = match body.get("client_name") {
        None | Some(Value::Null) => None,
        Some(v) => match SessionFields::parse(&json!({"client_name": v}), false) {
            Ok(f) => f.client_name,
            Err(e) => {
                fields.extend(e);
                None
            }
        },
    };
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    let chat = service(&s)?;
    let f = SessionFields {
        client_name,
        ..Default::default()
    };
    let session = chat.open(&claims.sub, id, f).await?;
    let turn = chat.answer(&session, &content, None, &NoSink).await?;
    Ok(Json(json!({
        "success": true,
        "message_id": turn.answer.id,
        "content": turn.answer.content,
        "type": "assistant",
        "session_id": session.id,
        "metadata": turn.answer.metadata,
    })))
}

async fn messages(
    State(s): State<Arc<AppState>>,
    Extension(claims): Extension<Claims>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let (messages, more) = session_messages(&s, &claims, p, true).await?;
    Ok(Json(
        json!({"success": true, "messages": messages, "has_more": more}),
    ))
}

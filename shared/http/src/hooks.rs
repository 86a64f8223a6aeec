//! Hook routes (admin): the configured hooks, secrets left out, and manual runs.

use super::auth::Actor;
use super::error::ApiError;
use super::extract::JsonBody;
use super::routes::Route;
use super::AppState;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use backend_core::app::dispatch::{self, Target};
use backend_core::domain::{EventType, FieldErrors, InquiryId};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn table() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/v1/hooks", get(list))
            .admin()
            .doc("hooks", "The configured hooks, secrets omitted")
            .ok(200, Some("HookList")),
        Route::new(Method::POST, "/api/v1/hooks/trigger", post(trigger))
            .admin()
            .doc(
                "hooks",
                "Run one hook, or every hook of an event, for an inquiry",
            )
            .body("HookTrigger")
            .ok(202, Some("HookDispatched")),
    ]
}

async fn list(State(s): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let hooks: Vec<Value> = s
        .hooks
        .all()
        .await?
        .iter()
        .map(|h| h.public_view())
        .collect();
    Ok(Json(json!({"success": true, "data": hooks})))
}

async fn trigger(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let hooks = s.hooks.all().await?;
    let mut fields = FieldErrors::new();
    let inquiry = body
        .get("inquiry_id")
        .and_then(Value::as_str)
        .and_then(InquiryId::parse);
    if inquiry.is_none() {
        fields.insert("inquiry_id".into(), "must be an inquiry id".into());
    }
    let hook_id = match body.get("hook_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.as_str())),
        Some(_) => Err(()),
    };
    let target = match (hook_id, body.get("event").filter(|e| !e.is_null())) {
        (Err(()), _) => {
            fields.insert("hook_id".into(), "must be a hook's id".into());
            None
        }
        (Ok(Some(id)), _) => match hooks.iter().find(|h| h.id == id) {
            Some(h) => Some(Target::Hook(h)),
            None => {
                fields.insert("hook_id".into(), "no hook has this id".into());
                None
            }
        },
        (Ok(None), Some(e)) => match serde_json::from_value::<EventType>(e.clone()) {
            Ok(e) => Some(Target::Event(e)),
            Err(_) => {
                fields.insert(
                    "event".into(),
                    "must be an event type such as inquiry_created".into(),
                );
                None
            }
        },
        (Ok(None), None) => {
            fields.insert("hook_id".into(), "give hook_id or event".into());
            None
        }
    };
    let (Some(inquiry), Some(target)) = (inquiry, target) else {
        return Err(ApiError::validation(&fields));
    };
    let dispatch_id =
        dispatch::trigger(&s.deps, target, &inquiry, &actor.ctx.correlation_id).await?;
    actor.audit("hook.trigger", inquiry.as_str(), "accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"success": true, "data": {"dispatch_id": dispatch_id}})),
    )
        .into_response())
}

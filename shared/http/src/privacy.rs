//! The prospects' personal data routes: the export of everything held about an
//! inquiry (`backend_core::app::export`), and its erasure with everything derived
//! from it (`backend_core::app::erasure`), answered with its audit record. Both are
//! audited.

use super::admin::inquiry_id;
use super::auth::Actor;
use super::error::ApiError;
use super::extract::JsonBody;
use super::routes::Route;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get};
use axum::Json;
use backend_core::app::erasure::ErasureReason;
use backend_core::app::export::Export;
use backend_core::app::ErrorCode;
use backend_core::domain::FieldErrors;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn table() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/api/v1/admin/inquiries/{id}/export",
            get(export_inquiry),
        )
        .admin()
        .doc(
            "privacy",
            "Everything held about an inquiry: the inquiry, its reports, the notifications sent about it, the chat sessions that name it",
        )
        .ok(200, Some("ExportEnvelope")),
        Route::new(
        Method::DELETE,
        "/api/v1/admin/inquiries/{id}",
        delete(erase_inquiry),
    )
    .admin()
    .doc(
        "privacy",
        "Erase an inquiry and everything derived from it; answers the audit record, the same for an inquiry erased before",
    )
    .body("ErasureRequest")
    .ok(200, Some("ErasureEnvelope")),
    ]
}

async fn export_inquiry(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = inquiry_id(&id)?;
    let result = Export::new(s.deps.clone()).of_inquiry(&id).await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("inquiry.export", id.as_str(), outcome);
    Ok(Json(json!({"success": true, "data": result?})))
}

async fn erase_inquiry(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let erasure = s.erasure.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "Erasure is not configured here",
        )
    })?;
    let id = inquiry_id(&id)?;
    let reason = match body.get("reason").and_then(Value::as_str) {
        Some(raw) => ErasureReason::parse(raw),
        None => Err("is required".to_string()),
    };
    let reason = reason.map_err(|why| {
        let fields: FieldErrors = [("reason".to_string(), why)].into();
        ApiError::validation(&fields)
    })?;
    let result = erasure.erase(&id, &actor.claims.username, &reason).await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("inquiry.erase", id.as_str(), outcome);
    Ok(Json(json!({"success": true, "data": result?})))
}

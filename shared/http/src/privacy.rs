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
use axum::http::Method;
use axum::routing::{delete, get, post};
use axum::Json;
use backend_core::app::erasure::{Erasure, ErasureReason};
use backend_core::app::export::Export;
use backend_core::app::records;
use backend_core::domain::{Email, FieldErrors, InquiryId};
use serde_json::{json, Value};
use std::sync::Arc;

const EXPORT_ONE: &str = "Everything held about an inquiry: the inquiry, its reports, the notifications sent about it, the chat sessions that name it";
const ERASE_ONE: &str = "Erase an inquiry and everything derived from it; answers the audit record, the same for an inquiry erased before";
const EXPORT_ADDRESS: &str = "Everything held about each inquiry of one e-mail address, 10 at a time (`after`: where the next page starts)";
const ERASE_ADDRESS: &str =
    "Erase every inquiry of one e-mail address (50 at a time; `more` says when to ask again)";

pub fn table() -> Vec<Route> {
    let privacy = |method, path, handler, summary| {
        Route::new(method, path, handler)
            .admin()
            .doc("privacy", summary)
    };
    let one = "/api/v1/admin/inquiries/{id}";
    vec![
        privacy(
            Method::GET,
            "/api/v1/admin/inquiries/{id}/export",
            get(export_inquiry),
            EXPORT_ONE,
        )
        .ok(200, Some("ExportEnvelope")),
        privacy(Method::DELETE, one, delete(erase_inquiry), ERASE_ONE)
            .body("ErasureRequest")
            .ok(200, Some("ErasureEnvelope")),
        privacy(
            Method::POST,
            "/api/v1/admin/exports",
            post(export_address),
            EXPORT_ADDRESS,
        )
        .body("AddressRequest")
        .ok(200, Some("ExportList")),
        privacy(
            Method::POST,
            "/api/v1/admin/erasures",
            post(erase_address),
            ERASE_ADDRESS,
        )
        .body("AddressErasureRequest")
        .ok(200, Some("ErasureList")),
    ]
}

/// The address a by-address request names (it travels in the body, so that no URL
/// or access log carries it), with the refusal that names the field.
fn address(body: &Value, fields: &mut FieldErrors) -> Option<Email> {
    let parsed = match body.get("email").and_then(Value::as_str) {
        Some(raw) => Email::parse(raw),
        None => Err("is required"),
    };
    parsed
        .map_err(|why| fields.insert("email".into(), why.into()))
        .ok()
}

/// The reason an erasure gives, with the refusal that names the field.
fn reason(body: &Value, fields: &mut FieldErrors) -> Option<ErasureReason> {
    let parsed = match body.get("reason").and_then(Value::as_str) {
        Some(raw) => ErasureReason::parse(raw),
        None => Err("is required".to_string()),
    };
    parsed
        .map_err(|why| fields.insert("reason".into(), why))
        .ok()
}

fn erasure(s: &AppState) -> Result<&Erasure, ApiError> {
    s.erasure
        .as_ref()
        .ok_or_else(|| ApiError::unconfigured("Erasure is"))
}

/// A by-address answer: the list, how many, and whether more remain (for an
/// export, `after` is where the next page starts).
fn listed<T: serde::Serialize>(items: Vec<T>, more: bool, after: Option<InquiryId>) -> Json<Value> {
    Json(
        json!({"success": true, "count": items.len(), "more": more, "after": after, "data": items}),
    )
}

async fn export_address(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let mut fields = FieldErrors::new();
    let address = address(&body, &mut fields);
    let after = match body.get("after") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = v.as_str().and_then(InquiryId::parse);
            if id.is_none() {
                fields.insert("after".into(), "must be an inquiry id".into());
            }
            id
        }
    };
    let Some(address) = address.filter(|_| fields.is_empty()) else {
        return Err(ApiError::validation(&fields));
    };
    let result = Export::new(s.deps.clone())
        .of_address(&address, after.as_ref())
        .await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("address.export", &records::email_pk(&address), outcome);
    let (bundles, next) = result?;
    Ok(listed(bundles, next.is_some(), next))
}

async fn erase_address(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let erasure = erasure(&s)?;
    let mut fields = FieldErrors::new();
    let (Some(address), Some(reason)) = (address(&body, &mut fields), reason(&body, &mut fields))
    else {
        return Err(ApiError::validation(&fields));
    };
    let result = erasure
        .erase_address(&address, &actor.claims.username, &reason)
        .await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("address.erase", &records::email_pk(&address), outcome);
    let (erased, more) = result?;
    Ok(listed(erased, more, None))
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
    let erasure = erasure(&s)?;
    let id = inquiry_id(&id)?;
    let mut fields = FieldErrors::new();
    let Some(reason) = reason(&body, &mut fields) else {
        return Err(ApiError::validation(&fields));
    };
    let result = erasure.erase(&id, &actor.claims.username, &reason).await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("inquiry.erase", id.as_str(), outcome);
    Ok(Json(json!({"success": true, "data": result?})))
}

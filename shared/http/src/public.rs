//! The web form's routes (no token): health, the service catalogue, and inquiry
//! submission.

use super::context::{ClientIp, RequestContext};
use super::error::ApiError;
use super::extract::JsonBody;
use super::routes::Route;
use super::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use backend_core::app::idempotency::IdempotencyKey;
use backend_core::app::ErrorCode;
use backend_core::domain::{rfc3339, ServiceType};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub const SERVICE_NAME: &str = "cloud-consulting-backend";

pub fn table() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/health", get(health))
            .doc("public", "Service health with a check of each dependency")
            .ok(200, Some("Health")),
        Route::new(Method::GET, "/api/v1/config/services", get(services))
            .doc(
                "public",
                "The services a prospect can ask for, in form order",
            )
            .ok(200, Some("ServicesEnvelope")),
        Route::new(Method::POST, "/api/v1/inquiries", post(submit_inquiry))
            .doc(
                "public",
                "Submit an inquiry (Idempotency-Key header supported)",
            )
            .body("NewInquiry")
            // An Idempotency-Key reused with another body.
            .errors(&[409])
            .ok(201, Some("InquiryCreated")),
        Route::new(
            Method::GET,
            "/api/v1/openapi.json",
            get(super::openapi::serve),
        )
        .doc("public", "This OpenAPI 3.1 document")
        .ok(200, Some("OpenApiDocument")),
    ]
}

async fn health(State(s): State<Arc<AppState>>) -> Response {
    let (store, queue) = tokio::join!(s.deps.store.ping(), s.deps.queue.ping());
    let mut checks = Map::new();
    let mut healthy = true;
    for (name, result) in [
        ("store", store.map_err(|e| e.to_string())),
        ("queue", queue.map_err(|e| e.to_string())),
    ] {
        let v = match result {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                healthy = false;
                tracing::warn!(check = name, error = %e, "health check failed");
                // The reason a person needs, not the dependency's own message.
                "error: unreachable".to_string()
            }
        };
        checks.insert(name.into(), Value::String(v));
    }
    let body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "service": SERVICE_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "time": rfc3339(s.deps.clock.now()),
        "checks": checks,
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn services() -> Json<Value> {
    let list: Vec<Value> = ServiceType::ALL
        .iter()
        .map(|s| json!({"id": s.id(), "name": s.name(), "description": s.description()}))
        .collect();
    Json(json!({"success": true, "data": {"services": list}}))
}

async fn submit_inquiry(
    State(s): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    client: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| IdempotencyKey::parse(v).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::ValidationError,
                        "Idempotency-Key must be 1 to 255 visible ASCII characters",
                    )
                })?,
        ),
    };
    // Every request names its client: API Gateway's source address in Lambda, the
    // peer on the dev server.
    let client = client.map_or_else(|| "unknown".to_string(), |c| c.0 .0);
    let out = s
        .inquiries
        .submit_from(&client, &body, key.as_ref(), &ctx.correlation_id)
        .await?;
    let body =
        json!({"success": true, "data": out.inquiry, "message": "Inquiry created successfully"});
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    if out.replayed {
        resp.headers_mut()
            .insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

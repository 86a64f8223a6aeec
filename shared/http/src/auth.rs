//! The admin check in front of every protected route: a bearer token, verified
//! (signature, issuer, audience, time, the admin role) before the handler runs, its
//! claims handed to the handler.

use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use backend_core::app::auth::AuthError;
use backend_core::app::{AppError, ErrorCode};
use std::sync::Arc;

/// Where no sign-in is configured, nothing behind it answers.
pub(super) fn unconfigured() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Unavailable,
        "Admin sign-in is not configured",
    )
}

pub(super) async fn require_admin(
    State(s): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let auth = s.auth.as_ref().ok_or_else(unconfigured)?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| ApiError::from(AppError::Auth(AuthError::Unauthorized)))?;
    let claims = auth
        .verify(token.trim())
        .map_err(|e| ApiError::from(AppError::Auth(e)))?;
    req.extensions_mut().insert(claims);
    Ok(next.run(req).await)
}

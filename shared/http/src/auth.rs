//! The admin check in front of every protected route: a bearer token, verified
//! (signature, issuer, audience, time, the admin role) before the handler runs, its
//! claims handed to the handler.

use super::context::RequestContext;
use super::error::ApiError;
use super::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use backend_core::app::auth::{AuthError, Claims};
use backend_core::app::{AppError, ErrorCode};
use std::sync::Arc;

/// The admin behind a state-changing request, with the request's context: what an
/// audited action needs. Only on routes behind the admin check, which sets both.
pub(super) struct Actor {
    pub claims: Claims,
    pub ctx: RequestContext,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let claims = parts.extensions.get::<Claims>().cloned();
        let ctx = parts.extensions.get::<RequestContext>().cloned();
        match (claims, ctx) {
            (Some(claims), Some(ctx)) => Ok(Self { claims, ctx }),
            _ => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
                "an admin route ran without the admin check",
            )),
        }
    }
}

impl Actor {
    /// The audit line of this admin's `action` on `target`.
    pub fn audit(&self, action: &str, target: &str, outcome: &str) {
        audit(&self.claims.username, action, target, &self.ctx, outcome);
    }
}

/// One line per state-changing admin action, on its own target so it can be routed.
pub(super) fn audit(actor: &str, action: &str, target: &str, ctx: &RequestContext, outcome: &str) {
    tracing::info!(target: "audit", audit = true, actor, action, target_id = target, correlation_id = %ctx.correlation_id, outcome, "audit");
}

/// Where no sign-in is configured, nothing behind it answers.
pub(super) fn unconfigured() -> ApiError {
    ApiError::unconfigured("Admin sign-in is")
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

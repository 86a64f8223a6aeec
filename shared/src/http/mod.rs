//! The HTTP surface: routers, the error envelope, request context, and the body
//! extractor. Lambda (through `lambda_http`) and the dev server serve these same
//! routers, so the local and the deployed paths are one code path.

pub mod context;
pub mod error;
pub mod extract;
pub mod lambda;
pub mod public;

use crate::app::{Deps, InquiryService};
use axum::Router;
use std::sync::Arc;

pub use error::ApiError;

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub inquiries: InquiryService,
}

impl AppState {
    pub fn new(deps: Deps) -> Arc<Self> {
        Arc::new(Self {
            inquiries: InquiryService::new(deps.clone()),
            deps,
        })
    }
}

/// The full router with the layers every route shares: request ids, logs, panics
/// turned into the envelope, and envelope answers for unknown routes.
pub fn router(state: Arc<AppState>) -> Router {
    public::routes()
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn(context::request_context))
}

//! The HTTP surface: routers, the error envelope, request context, and the body
//! extractor. Lambda (through `lambda_http`) and the dev server serve these same
//! routers, so the local and the deployed paths are one code path.

pub mod admin;
pub mod chat;
pub mod context;
pub mod error;
pub mod extract;
pub mod hooks;
pub mod metrics;
pub mod openapi;
pub mod public;
pub mod reports;
pub mod routes;

use axum::Router;
use backend_core::app::auth::Authenticator;
use backend_core::app::{Deps, InquiryService};
use std::sync::Arc;

pub use error::ApiError;

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub inquiries: InquiryService,
    /// Absent where a function serves no admin route.
    pub auth: Option<Arc<Authenticator>>,
    /// Exact origins a browser may call from (credentials included).
    pub cors_origins: Vec<String>,
    /// Absent where no report store is configured.
    pub reports: Option<backend_core::app::reports::ReportService>,
    /// The hooks (configured and stored), for listing and manual runs.
    pub hooks: backend_core::app::hook_registry::HookRegistry,
    /// Absent where a function serves no chat route.
    pub chat: Option<backend_core::app::chat::ChatService>,
}

impl AppState {
    pub fn new(
        deps: Deps,
        auth: Option<Authenticator>,
        cors_origins: Vec<String>,
        reports: Option<backend_core::app::reports::ReportService>,
        hooks: Vec<backend_core::domain::hook::Hook>,
        chat: Option<backend_core::app::chat::ChatService>,
    ) -> Arc<Self> {
        let deps_store = deps.store.clone();
        Arc::new(Self {
            inquiries: InquiryService::new(deps.clone()),
            deps,
            auth: auth.map(Arc::new),
            cors_origins,
            reports,
            hooks: backend_core::app::hook_registry::HookRegistry::new(hooks, deps_store),
            chat,
        })
    }
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(list)
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(context::CORRELATION_ID),
            HeaderName::from_static(context::REQUEST_ID),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("idempotency-replayed"),
            HeaderName::from_static(context::CORRELATION_ID),
            HeaderName::from_static(context::REQUEST_ID),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// The web form's routes alone (the public-api function).
pub fn public_router(state: Arc<AppState>) -> Router {
    finish(routes::build(public::table(), &state), state)
}

/// The admin routes alone (the admin-api function).
pub fn admin_router(state: Arc<AppState>) -> Router {
    finish(routes::build(routes::admin(), &state), state)
}

/// Every route (the dev server).
pub fn router(state: Arc<AppState>) -> Router {
    finish(routes::build(routes::all(), &state), state)
}

/// The layers every route shares: request ids, logs, metrics, panics turned into
/// the envelope, and envelope answers for unknown routes and methods.
fn finish(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    let cors = cors(&state.cors_origins);
    routes
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        // One layer, not three: `Router::layer` wraps every route again on each call,
        // and the admin router's routes are built during the function's cold start.
        // Outermost first; CORS sits outside the routes, so a preflight is answered
        // before routing.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(context::request_context))
                .layer(cors)
                .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                    error::panic_response,
                )),
        )
}

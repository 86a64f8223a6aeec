//! The HTTP surface: routers, the error envelope, request context, and the body
//! extractor. Lambda (through `lambda_http`) and the dev server serve these same
//! routers, so the local and the deployed paths are one code path.

pub mod admin;
mod auth;
pub mod chat;
pub mod context;
pub mod error;
pub mod extract;
pub mod hooks;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod public;
mod query;
pub mod reports;
pub mod routes;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use backend_core::app::auth::Authenticator;
use backend_core::app::chat::ChatService;
use backend_core::app::erasure::Erasure;
use backend_core::app::hook_registry::HookRegistry;
use backend_core::app::limits::WindowLimit;
use backend_core::app::reports::ReportService;
use backend_core::app::{Deps, InquiryService};
use backend_core::domain::hook::Hook;
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
    pub reports: Option<ReportService>,
    /// The hooks (configured and stored), for listing and manual runs.
    pub hooks: HookRegistry,
    /// Absent where a function serves no chat route.
    pub chat: Option<ChatService>,
    /// Absent where a function serves no erasure.
    pub erasure: Option<Erasure>,
}

/// What a router serves beyond the inquiries, where the serving process has it;
/// what is absent answers 503 (`..Default::default()` leaves it out).
#[derive(Default)]
pub struct Served {
    pub auth: Option<Arc<Authenticator>>,
    /// Exact origins a browser may call from (credentials included).
    pub cors_origins: Vec<String>,
    pub reports: Option<ReportService>,
    /// The configured hooks; stored ones are read from the store.
    pub hooks: Vec<Hook>,
    pub chat: Option<ChatService>,
    pub erasure: Option<Erasure>,
    /// Inquiries one web-form client may submit; unlimited when absent.
    pub submissions_per_client: Option<WindowLimit>,
}

impl AppState {
    pub fn new(deps: Deps, served: Served) -> Arc<Self> {
        Arc::new(Self {
            inquiries: match served.submissions_per_client {
                Some(limit) => InquiryService::new(deps.clone()).limiting_clients(limit),
                None => InquiryService::new(deps.clone()),
            },
            hooks: HookRegistry::new(served.hooks, deps.store.clone()),
            deps,
            auth: served.auth,
            cors_origins: served.cors_origins,
            reports: served.reports,
            chat: served.chat,
            erasure: served.erasure,
        })
    }
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method};
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    // A predicate, not `true`: the constant sends the credentials header to every
    // caller, which tells a page on any origin that this API takes credentials.
    let allowed = list.clone();
    tower_http::cors::CorsLayer::new()
        .allow_origin(list)
        .allow_credentials(tower_http::cors::AllowCredentials::predicate(
            move |origin, _| allowed.contains(origin),
        ))
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

/// Sets `X-Content-Type-Options: nosniff`, which every answer carries: no browser
/// may read an error envelope or a report as something it could run.
pub async fn no_sniff(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Sets `Cache-Control: no-store`, which a token or admin data carries: no shared
/// or browser cache may keep it for the next person at the machine.
pub async fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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

/// The layers every route shares: `nosniff`, request ids, logs, metrics, panics
/// turned into the envelope, and envelope answers for unknown routes and methods.
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
                .layer(axum::middleware::map_response(no_sniff))
                .layer(axum::middleware::from_fn(context::request_context))
                .layer(cors)
                .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                    error::panic_response,
                )),
        )
}

//! The route table. Every route is declared once here, with what the OpenAPI
//! document says of it and who may call it; the routers and the document are both
//! built from these tables, so they cannot disagree.

use super::query::QueryParam;
use super::AppState;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A valid admin JWT is checked before the handler runs.
    Admin,
}

pub struct Route {
    pub method: Method,
    /// As axum registers it: `{id}` for a path parameter.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub access: Access,
    /// Component schema of the JSON request body, if any.
    pub body: Option<&'static str>,
    /// Success status, and the component schema of its body (`None`: not JSON).
    pub ok: (u16, Option<&'static str>),
    /// The media types of a success that is not JSON.
    pub ok_types: &'static [&'static str],
    /// Error statuses this route answers beyond those every route of its kind does.
    pub errors: &'static [u16],
    /// Query parameters, as the handler reads them.
    pub query: &'static [QueryParam],
    /// Path parameters that take less than any text, by name (the others are text).
    pub path_params: &'static [QueryParam],
    /// Whether its answers carry `Cache-Control: no-store` (every admin route, and
    /// sign-in, whose answer is a token).
    pub no_store: bool,
    pub handler: MethodRouter<Arc<AppState>>,
}

impl Route {
    pub fn new(method: Method, path: &'static str, handler: MethodRouter<Arc<AppState>>) -> Self {
        Self {
            method,
            path,
            summary: "",
            tag: "public",
            access: Access::Public,
            body: None,
            ok: (200, None),
            ok_types: &["text/plain"],
            errors: &[],
            query: &[],
            path_params: &[],
            no_store: false,
            handler,
        }
    }

    pub fn doc(mut self, tag: &'static str, summary: &'static str) -> Self {
        self.tag = tag;
        self.summary = summary;
        self
    }

    pub fn admin(mut self) -> Self {
        self.access = Access::Admin;
        self.no_store()
    }

    pub fn no_store(mut self) -> Self {
        self.no_store = true;
        self
    }

    pub fn body(mut self, schema: &'static str) -> Self {
        self.body = Some(schema);
        self
    }

    pub fn ok(mut self, status: u16, schema: Option<&'static str>) -> Self {
        self.ok = (status, schema);
        self
    }

    /// A success that is not JSON, in one of these media types.
    pub fn ok_as(mut self, status: u16, types: &'static [&'static str]) -> Self {
        self.ok = (status, None);
        self.ok_types = types;
        self
    }

    pub fn errors(mut self, statuses: &'static [u16]) -> Self {
        self.errors = statuses;
        self
    }

    pub fn path_params(mut self, params: &'static [QueryParam]) -> Self {
        self.path_params = params;
        self
    }

    pub fn query(mut self, params: &'static [QueryParam]) -> Self {
        self.query = params;
        self
    }
}

/// Registers a table's routes, putting the admin check in front of admin ones.
pub fn build(table: Vec<Route>, state: &Arc<AppState>) -> Router<Arc<AppState>> {
    table.into_iter().fold(Router::new(), |router, r| {
        let handler = match r.access {
            Access::Public => r.handler,
            Access::Admin => r.handler.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                super::auth::require_admin,
            )),
        };
        // Outside the admin check, so its 401 and 403 are not stored either.
        let handler = match r.no_store {
            true => handler.route_layer(axum::middleware::map_response(super::no_store)),
            false => handler,
        };
        router.route(r.path, handler)
    })
}

/// The admin-api function's routes: sign-in and everything behind the token.
pub fn admin() -> Vec<Route> {
    let mut t = super::admin::table();
    t.extend(super::reports::table());
    t.extend(super::hooks::table());
    t.extend(super::chat::table());
    t.extend(super::privacy::table());
    t
}

/// Every route of the API, public and admin.
pub fn all() -> Vec<Route> {
    let mut t = super::public::table();
    t.extend(admin());
    t
}

//! The admin API behind the JWT: login, inquiry management and figures. Every
//! protected route is registered through `protected`, which puts the auth check in
//! front of it; `PROTECTED` lists them so a test can prove none answers without a
//! valid token.

use super::auth::{audit, unconfigured, Actor};
use super::context::{ClientIp, RequestContext};
use super::error::ApiError;
use super::extract::JsonBody;
use super::query::{bound, one_of, page_of, param, params, IntParam, Params, QueryParam};
use super::routes::Route;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json};
use backend_core::app::inquiries::Created;
use backend_core::app::reports::ReportRecords;
use backend_core::app::Missing;
use backend_core::app::{AppError, ErrorCode};
use backend_core::app::{InquiryFilter, Listing};
use backend_core::domain::report::Report;
use backend_core::domain::{
    inquiry::is_clean, rfc3339, FieldErrors, Inquiry, InquiryId, InquiryStatus, Priority,
    ServiceType,
};
use backend_core::ports::Cursor;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub fn table() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/api/v1/auth/login", post(login))
            .doc("auth", "Sign in; answers a JWT for the admin routes")
            .no_store()
            .body("Login")
            .errors(&[401])
            .ok(200, Some("Token")),
        Route::new(Method::GET, "/api/v1/inquiries", get(list_inquiries))
            .admin()
            .doc(
                "inquiries",
                "Inquiries, newest first, with filters and cursor paging",
            )
            .query(LIST_QUERY)
            .ok(200, Some("InquiryPage")),
        Route::new(Method::GET, "/api/v1/inquiries/{id}", get(get_inquiry))
            .admin()
            .doc("inquiries", "One inquiry")
            .ok(200, Some("InquiryEnvelope")),
        Route::new(
            Method::PUT,
            "/api/v1/inquiries/{id}/status",
            put(change_status),
        )
        .admin()
        .doc(
            "inquiries",
            "Move an inquiry along the status transition table",
        )
        .body("StatusChange")
        .ok(200, Some("InquiryEnvelope")),
        Route::new(Method::GET, "/api/v1/admin/inquiries", get(admin_inquiries))
            .admin()
            .doc("inquiries", "Inquiries with offset paging and totals")
            .query(PAGE_QUERY)
            .ok(200, Some("InquiryOffsetPage")),
        Route::new(Method::GET, "/api/v1/admin/metrics", get(admin_metrics))
            .admin()
            .doc("metrics", "Business figures over a time range")
            .query(const { &[QueryParam::one_of("time_range", time_ranges)] })
            .ok(200, Some("AdminMetrics")),
        Route::new(
            Method::GET,
            "/api/v1/metrics",
            get(super::metrics::prometheus),
        )
        .admin()
        .doc("metrics", "Prometheus text exposition")
        .ok(200, None),
    ]
}

/// The longest username or password sign-in reads, in characters.
pub(super) const MAX_CREDENTIAL_CHARS: usize = 1024;

async fn login(
    State(s): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    client: Option<Extension<ClientIp>>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let auth = s.auth.as_ref().ok_or_else(unconfigured)?;
    let mut fields = FieldErrors::new();
    let text = |k: &str, fields: &mut FieldErrors| match body.get(k).and_then(Value::as_str) {
        Some(v) if (1..=MAX_CREDENTIAL_CHARS).contains(&v.chars().count()) => v.to_string(),
        _ => {
            fields.insert(k.into(), "is required".into());
            String::new()
        }
    };
    let username = text("username", &mut fields);
    let password = text("password", &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    let client = client.map_or_else(|| "unknown".to_string(), |c| c.0 .0);
    match auth.login(&username, &password, &client).await {
        Ok(issued) => {
            audit(&username, "auth.login", &username, &ctx, "success");
            let expires_at = time::OffsetDateTime::from_unix_timestamp(issued.expires_at)
                .map(rfc3339)
                .unwrap_or_default();
            Ok(
                Json(json!({"success": true, "token": issued.token, "expires_at": expires_at}))
                    .into_response(),
            )
        }
        Err(e @ AppError::Auth(_)) => {
            audit(&username, "auth.login", &username, &ctx, "refused");
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn statuses() -> Vec<&'static str> {
    InquiryStatus::ALL.map(|s| s.as_str()).to_vec()
}

fn services() -> Vec<&'static str> {
    ServiceType::ALL.map(|s| s.id()).to_vec()
}

fn priorities() -> Vec<&'static str> {
    Priority::ALL.map(|s| s.as_str()).to_vec()
}

/// The ranges `/admin/metrics` takes, with their length in hours.
const TIME_RANGES: [(&str, i64); 5] = [
    ("1h", 1),
    ("24h", 24),
    ("7d", 7 * 24),
    ("30d", 30 * 24),
    ("90d", 90 * 24),
];

fn time_ranges() -> Vec<&'static str> {
    TIME_RANGES.iter().map(|(name, _)| *name).collect()
}

const LIST_LIMIT: IntParam = IntParam::limit(20, 100);
const PAGE_LIMIT: IntParam = IntParam::limit(10, 100);

/// Both listings' filters (`filter_of` reads them).
const FILTERS: [QueryParam; 5] = [
    QueryParam::one_of("status", statuses),
    QueryParam::one_of("service", services),
    QueryParam::one_of("priority", priorities),
    QueryParam::time("date_from"),
    QueryParam::time("date_to"),
];

/// The cursor listing's parameters: the filters, `limit` and `cursor`.
const LIST_QUERY: &[QueryParam] = &{
    let [a, b, c, d, e] = FILTERS;
    [
        a,
        b,
        c,
        d,
        e,
        LIST_LIMIT.doc(),
        QueryParam::text("cursor", None),
    ]
};

/// The offset listing's parameters: the filters, `limit` and `offset`.
const PAGE_QUERY: &[QueryParam] = &{
    let [a, b, c, d, e] = FILTERS;
    [a, b, c, d, e, PAGE_LIMIT.doc(), IntParam::OFFSET.doc()]
};

fn filter_of(p: &HashMap<String, String>, fields: &mut FieldErrors) -> InquiryFilter {
    let date = "must be a date (YYYY-MM-DD) or an RFC 3339 time";
    InquiryFilter {
        status: param(
            p,
            "status",
            InquiryStatus::parse,
            &one_of(statuses()),
            fields,
        ),
        service: param(
            p,
            "service",
            ServiceType::parse,
            &one_of(services()),
            fields,
        ),
        priority: param(
            p,
            "priority",
            Priority::parse,
            &one_of(priorities()),
            fields,
        ),
        created: Created {
            from: param(p, "date_from", bound, date, fields),
            to: param(p, "date_to", bound, date, fields),
        },
    }
}

/// A listing's filters and page size, and its own parameters (`rest`), read from
/// its query: every one that does not parse named in one refusal.
fn listed<T>(
    p: Params,
    limit: IntParam,
    rest: impl FnOnce(&HashMap<String, String>, &mut FieldErrors) -> T,
) -> Result<(InquiryFilter, usize, T), ApiError> {
    let query = params(p)?;
    let mut fields = FieldErrors::new();
    let filter = filter_of(&query, &mut fields);
    let limit = limit.read(&query, &mut fields);
    let rest = rest(&query, &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    Ok((filter, limit, rest))
}

async fn list_inquiries(
    State(s): State<Arc<AppState>>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let (f, limit, cursor) = listed(p, LIST_LIMIT, |p, fields| {
        let c = p.get("cursor").filter(|c| !c.is_empty())?;
        let decoded = Cursor::decode(c);
        if decoded.is_none() {
            fields.insert("cursor".into(), "is not a cursor this API returned".into());
        }
        decoded
    })?;
    let Listing {
        inquiries,
        next_cursor,
    } = s.inquiries.list(&f, limit, cursor).await?;
    Ok(Json(
        json!({"success": true, "count": inquiries.len(), "data": inquiries, "next_cursor": next_cursor}),
    ))
}

pub(super) fn inquiry_id(raw: &str) -> Result<InquiryId, ApiError> {
    InquiryId::parse(raw).ok_or_else(|| ApiError::not_found(Missing::Inquiry))
}

async fn get_inquiry(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = inquiry_id(&id)?;
    let inquiry = s.inquiries.get(&id).await?;
    let reports = match &s.reports {
        Some(svc) => svc.for_inquiry(&id).await?,
        None => vec![],
    };
    Ok(Json(
        json!({"success": true, "data": with_reports(&inquiry, reports)}),
    ))
}

/// API.md's Inquiry object with its reports, `reports` omitted when there are none.
fn with_reports(inquiry: &Inquiry, reports: Vec<Report>) -> Value {
    let mut data = serde_json::to_value(inquiry).unwrap_or_default();
    if !reports.is_empty() {
        data["reports"] = serde_json::to_value(reports).unwrap_or_default();
    }
    data
}

async fn change_status(
    State(s): State<Arc<AppState>>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = inquiry_id(&id)?;
    let mut fields = FieldErrors::new();
    let to = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(InquiryStatus::parse);
    if to.is_none() {
        fields.insert(
            "status".into(),
            format!(
                "must be one of {}",
                InquiryStatus::ALL.map(|s| s.as_str()).join(", ")
            ),
        );
    }
    let note = match body.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) if n.chars().count() <= 2000 && is_clean(n, true) => Some(n.clone()),
        Some(_) => {
            fields.insert(
                "note".into(),
                "must be text of at most 2000 characters".into(),
            );
            None
        }
    };
    let Some(to) = to.filter(|_| fields.is_empty()) else {
        return Err(ApiError::validation(&fields));
    };
    let result = s
        .inquiries
        .change_status(
            &id,
            to,
            note,
            &actor.claims.username,
            &actor.ctx.correlation_id,
        )
        .await;
    let outcome = if result.is_ok() { "success" } else { "refused" };
    actor.audit("inquiry.status_change", id.as_str(), outcome);
    let inquiry = result?;
    Ok(Json(json!({"success": true, "data": inquiry})))
}

async fn admin_inquiries(
    State(s): State<Arc<AppState>>,
    p: Params,
) -> Result<Json<Value>, ApiError> {
    let (f, limit, offset) = listed(p, PAGE_LIMIT, |p, fields| IntParam::OFFSET.read(p, fields))?;
    // The total comes from the counts; past it there is nothing to read.
    let total = s.inquiries.count(&f).await?;
    let page = if offset < total {
        s.inquiries.page(&f, offset, limit).await?
    } else {
        vec![]
    };
    // Each item carries its reports (API.md), all of the page's in one read.
    let ids: Vec<InquiryId> = page.iter().map(|i| i.id.clone()).collect();
    let shelves = ReportRecords::new(s.deps.clone()).shelved(&ids).await?;
    let data: Vec<Value> = page
        .iter()
        .zip(shelves)
        .map(|(inquiry, reports)| with_reports(inquiry, reports))
        .collect();
    Ok(Json(json!({
        "success": true,
        "count": data.len(),
        "data": data,
        "total": total,
        "page": page_of(offset, limit),
        "pages": total.div_ceil(limit),
    })))
}

async fn admin_metrics(State(s): State<Arc<AppState>>, p: Params) -> Result<Json<Value>, ApiError> {
    let p = params(p)?;
    let range = p
        .get("time_range")
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .unwrap_or("30d");
    let Some(&(range, hours)) = TIME_RANGES.iter().find(|(name, _)| *name == range) else {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidTimeRange,
            format!("time_range {}", one_of(time_ranges())),
        )
        .with_details(json!({"allowed": time_ranges()})));
    };
    let since = s.deps.clock.now() - time::Duration::hours(hours);
    let data = backend_core::app::figures::figures(&s.deps, since).await?;
    Ok(Json(
        json!({"success": true, "data": data, "meta": {"time_range": range}}),
    ))
}

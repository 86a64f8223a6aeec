//! Report routes (admin): the newest report of an inquiry as JSON or its HTML page,
//! downloads, and the admin report listing and view.

use super::error::ApiError;
use super::query::{one_of, page_of, params, IntParam, Params, QueryParam};
use super::routes::Route;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use backend_core::app::reports::ReportService;
use backend_core::app::Missing;
use backend_core::domain::report::{Report, ReportId, ReportStatus};
use backend_core::domain::{Inquiry, InquiryId};
use serde_json::{json, Value};
use std::sync::Arc;

/// API.md: limit 1–100, default 20 (the dashboard asks without one).
const REPORTS_LIMIT: IntParam = IntParam::limit(20, 100);

/// What a report file is served as, by format.
const FILE_TYPES: &[&str] = &["application/pdf", "text/html"];

fn formats() -> Vec<&'static str> {
    vec!["pdf", "html"]
}

fn report_statuses() -> Vec<&'static str> {
    vec!["draft", "reviewed", "final"]
}

pub fn table() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/api/v1/inquiries/{id}/report", get(latest))
            .admin()
            .doc("reports", "The newest report of an inquiry")
            .ok(200, Some("ReportEnvelope")),
        Route::new(
            Method::GET,
            "/api/v1/inquiries/{id}/report/html",
            get(latest_html),
        )
        .admin()
        .doc("reports", "The newest report as an HTML page")
        .ok_as(200, &["text/html"]),
        Route::new(
            Method::GET,
            "/api/v1/inquiries/{id}/report/pdf",
            get(latest_pdf),
        )
        .admin()
        .doc("reports", "The newest report as a PDF, inline")
        .ok_as(200, &["application/pdf"]),
        Route::new(
            Method::GET,
            "/api/v1/inquiries/{id}/report/download",
            get(download),
        )
        .admin()
        .doc(
            "reports",
            "The newest report as an attachment (format=pdf or html)",
        )
        .query(const { &[QueryParam::one_of("format", formats)] })
        .ok_as(200, FILE_TYPES),
        Route::new(Method::GET, "/api/v1/admin/reports", get(list))
            .admin()
            .doc(
                "reports",
                "Every report with its inquiry, newest first, offset paging",
            )
            .query(
                const {
                    &[
                        QueryParam::one_of("status", report_statuses),
                        QueryParam::text("type", None),
                        REPORTS_LIMIT.doc(),
                        IntParam::OFFSET.doc(),
                    ]
                },
            )
            .ok(200, Some("ReportOffsetPage")),
        Route::new(
            Method::GET,
            "/api/v1/admin/reports/view/{report_id}",
            get(view),
        )
        .admin()
        .doc("reports", "One report with its inquiry")
        .ok(200, Some("ReportEnvelope")),
        Route::new(
            Method::GET,
            "/api/v1/admin/reports/download/{inquiry_id}/{format}",
            get(admin_download),
        )
        .admin()
        .doc(
            "reports",
            "The newest report of an inquiry as an attachment (pdf or html)",
        )
        .path_params(const { &[QueryParam::one_of("format", formats)] })
        .errors(&[400])
        .ok_as(200, FILE_TYPES),
    ]
}

fn service(s: &AppState) -> Result<&ReportService, ApiError> {
    s.reports
        .as_ref()
        .ok_or_else(|| ApiError::unconfigured("Reports are"))
}

async fn newest<'a>(
    s: &'a AppState,
    raw_id: &str,
) -> Result<(Report, &'a ReportService), ApiError> {
    let svc = service(s)?;
    let id = InquiryId::parse(raw_id).ok_or_else(|| ApiError::not_found(Missing::Inquiry))?;
    svc.inquiry(&id).await?;
    let report = svc
        .for_inquiry(&id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(Missing::Report))?;
    Ok((report, svc))
}

async fn latest(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (report, _) = newest(&s, &id).await?;
    Ok(Json(json!({"success": true, "data": report})))
}

fn html_response(page: String, attachment: Option<String>) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    resp.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The page is static: no script may run in it even if something slipped through.
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src https:"),
    );
    if let Some(name) = attachment {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}

async fn latest_html(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (report, svc) = newest(&s, &id).await?;
    Ok(html_response(svc.html(&report).await?, None))
}

/// A file-name-safe form of a company name.
fn slug(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(50)
        .collect();
    let trimmed = cleaned.trim_matches('_');
    if trimmed.is_empty() {
        "report".into()
    } else {
        trimmed.to_string()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Pdf,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
}

fn format_of(raw: Option<&str>) -> Result<Format, ApiError> {
    match raw.unwrap_or("pdf") {
        "pdf" => Ok(Format::Pdf),
        "html" => Ok(Format::Html),
        other => Err(ApiError::validation(
            &[(
                "format".to_string(),
                format!("{other:?} is not offered; use pdf or html"),
            )]
            .into(),
        )),
    }
}

fn pdf_response(bytes: Vec<u8>, disposition: &str, name: &str) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The report in `format`, as an attachment named `name` (without extension).
async fn file(
    svc: &ReportService,
    report: &Report,
    inquiry: &Inquiry,
    format: Format,
    name: &str,
) -> Result<Response, ApiError> {
    let name = format!("{name}.{}", format.ext());
    Ok(match format {
        Format::Html => html_response(svc.html(report).await?, Some(name)),
        Format::Pdf => pdf_response(pdf(report, inquiry)?, "attachment", &name),
    })
}

fn pdf(report: &Report, inquiry: &Inquiry) -> Result<Vec<u8>, ApiError> {
    backend_core::app::render::report_pdf(report, inquiry).map_err(|e| {
        tracing::error!(error = %e, report_id = %report.id, "PDF rendering failed");
        ApiError::internal()
    })
}

async fn latest_pdf(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (report, svc) = newest(&s, &id).await?;
    let inquiry = svc.inquiry(&report.inquiry_id).await?;
    let name = format!(
        "{}_{}_report.pdf",
        slug(&inquiry.company),
        report.report_type
    );
    Ok(pdf_response(pdf(&report, &inquiry)?, "inline", &name))
}

async fn download(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let format = format_of(
        q.get("format")
            .map(String::as_str)
            .filter(|f| !f.is_empty()),
    )?;
    let (report, svc) = newest(&s, &id).await?;
    let inquiry = svc.inquiry(&report.inquiry_id).await?;
    let name = format!("{}_{}_report", slug(&inquiry.company), report.report_type);
    file(svc, &report, &inquiry, format, &name).await
}

async fn admin_download(
    State(s): State<Arc<AppState>>,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let format = format_of(Some(&format))?;
    let (report, svc) = newest(&s, &id).await?;
    let inquiry = svc.inquiry(&report.inquiry_id).await?;
    let day: String = report
        .created_at
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let name = format!(
        "admin_{}_{}_{day}",
        slug(&inquiry.company),
        report.report_type
    );
    file(svc, &report, &inquiry, format, &name).await
}

fn with_inquiry(report: &Report, inquiry: Option<&Inquiry>) -> Value {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    v["inquiry"] = serde_json::to_value(inquiry).unwrap_or(Value::Null);
    v
}

async fn list(State(s): State<Arc<AppState>>, q: Params) -> Result<Json<Value>, ApiError> {
    let svc = service(&s)?;
    let q = params(q)?;
    let mut fields = backend_core::domain::FieldErrors::new();
    let status = match q.get("status").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => {
            let parsed = ReportStatus::parse(v);
            if parsed.is_none() {
                fields.insert("status".into(), one_of(report_statuses()));
            }
            parsed
        }
    };
    let report_type = q.get("type").filter(|v| !v.is_empty()).cloned();
    let limit = REPORTS_LIMIT.read(&q, &mut fields);
    let offset = IntParam::OFFSET.read(&q, &mut fields);
    if !fields.is_empty() {
        return Err(ApiError::validation(&fields));
    }
    let report_type = report_type.as_deref();
    let total = svc.count(status, report_type).await?;
    let page = if offset < total {
        svc.page(status, report_type, offset, limit).await?
    } else {
        vec![]
    };
    let mut data = Vec::new();
    for r in &page {
        let inquiry = svc.inquiry(&r.inquiry_id).await.ok();
        data.push(with_inquiry(r, inquiry.as_ref()));
    }
    Ok(Json(json!({
        "success": true, "count": data.len(), "data": data, "total": total,
        "page": page_of(offset, limit), "pages": total.div_ceil(limit),
    })))
}

async fn view(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let svc = service(&s)?;
    let id = ReportId::parse(&id).ok_or_else(|| ApiError::not_found(Missing::Report))?;
    let report = svc.by_id(&id).await?;
    let inquiry = svc.inquiry(&report.inquiry_id).await.ok();
    Ok(Json(
        json!({"success": true, "data": with_inquiry(&report, inquiry.as_ref())}),
    ))
}

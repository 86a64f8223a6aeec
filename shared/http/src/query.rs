//! Query strings as the admin routes read them: each parameter once (a repeated one
//! is a 400 naming it), numbers within bounds, dates as the stored UTC text, every
//! bad parameter reported at once in the envelope's `details.fields`.

use super::error::ApiError;
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use backend_core::app::ErrorCode;
use backend_core::domain::{rfc3339, FieldErrors};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;

/// Query parameters as given, in order; `params` reads them.
pub(super) type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Query parameters by name, or a 400 in the envelope when they cannot be decoded or
/// one is given twice: each takes one value, and keeping only the last would hide
/// the client's mistake.
pub(super) fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    let Query(pairs) = p.map_err(|_| {
        ApiError::bad_request(
            ErrorCode::ValidationError,
            "The query string could not be read",
        )
    })?;
    let mut out = HashMap::with_capacity(pairs.len());
    let mut fields = FieldErrors::new();
    for (k, v) in pairs {
        match out.entry(k) {
            Entry::Occupied(e) => {
                fields.insert(e.key().clone(), "is given more than once".into());
            }
            Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    match fields.is_empty() {
        true => Ok(out),
        false => Err(ApiError::validation(&fields)),
    }
}

/// A date (`YYYY-MM-DD`) or an RFC 3339 instant, as the UTC text stored timestamps compare with.
pub(super) fn bound(v: &str) -> Option<String> {
    if let Ok(t) = time::OffsetDateTime::parse(v, &Rfc3339) {
        return Some(rfc3339(t));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, &fmt).ok().map(|d| d.to_string())
}

/// Parses one optional parameter, recording `msg` when it is present but invalid.
pub(super) fn param<T>(
    p: &HashMap<String, String>,
    k: &str,
    parse: impl Fn(&str) -> Option<T>,
    msg: &str,
    fields: &mut FieldErrors,
) -> Option<T> {
    let v = p.get(k).filter(|v| !v.is_empty())?;
    let parsed = parse(v);
    if parsed.is_none() {
        fields.insert(k.into(), msg.into());
    }
    parsed
}

/// A whole number within `min..=max`, or `default` when absent; a bad one is
/// recorded in `fields`.
pub(super) fn number(
    p: &HashMap<String, String>,
    k: &str,
    default: usize,
    min: usize,
    max: usize,
    fields: &mut FieldErrors,
) -> usize {
    match p.get(k).filter(|v| !v.is_empty()) {
        None => default,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                let range = match max {
                    usize::MAX => format!(", {min} or more"),
                    _ => format!(" from {min} to {max}"),
                };
                fields.insert(k.into(), format!("must be a whole number{range}"));
                default
            }
        },
    }
}

/// The 1-based page an offset falls on. Saturating: the offset is the client's
/// number, and one past the largest page must not overflow into a panic.
pub(super) fn page_of(offset: usize, limit: usize) -> usize {
    (offset / limit.max(1)).saturating_add(1)
}

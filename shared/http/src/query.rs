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

/// A query parameter as the OpenAPI document describes it. Routes declare theirs
/// with the same bounds and value lists their handlers read with (`IntParam`,
/// `one_of`), so the document states what is enforced.
#[derive(Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Int {
        default: usize,
        min: usize,
        max: usize,
    },
    /// One of these values.
    OneOf(fn() -> Vec<&'static str>),
    /// A date (`YYYY-MM-DD`) or an RFC 3339 time.
    Time,
    /// Text the handler checks itself (an opaque cursor, an id).
    Text { pattern: Option<&'static str> },
}

impl QueryParam {
    pub const fn one_of(name: &'static str, values: fn() -> Vec<&'static str>) -> Self {
        Self::of(name, Kind::OneOf(values))
    }

    pub const fn time(name: &'static str) -> Self {
        Self::of(name, Kind::Time)
    }

    pub const fn text(name: &'static str, pattern: Option<&'static str>) -> Self {
        Self::of(name, Kind::Text { pattern })
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn of(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: false,
        }
    }

    /// Its JSON Schema. An empty value is read as no value, so an optional
    /// parameter may be empty too.
    pub fn schema(&self) -> serde_json::Value {
        use serde_json::json;
        match self.required {
            true => self.value_schema(),
            false => json!({"anyOf": [self.value_schema(), {"type": "string", "maxLength": 0}]}),
        }
    }

    fn value_schema(&self) -> serde_json::Value {
        use serde_json::json;
        match self.kind {
            Kind::Int { default, min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max, "default": default})
            }
            Kind::OneOf(values) => json!({"type": "string", "enum": values()}),
            Kind::Time => {
                json!({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]})
            }
            Kind::Text { pattern: Some(p) } => json!({"type": "string", "pattern": p}),
            Kind::Text { pattern: None } => json!({"type": "string", "minLength": 1}),
        }
    }
}

/// A whole-number query parameter: what `read` enforces is what `doc` states.
#[derive(Clone, Copy)]
pub struct IntParam {
    pub name: &'static str,
    pub default: usize,
    pub min: usize,
    pub max: usize,
}

impl IntParam {
    /// `limit`: `default` when absent, at most `max`.
    pub const fn limit(default: usize, max: usize) -> Self {
        Self {
            name: "limit",
            default,
            min: 1,
            max,
        }
    }

    /// `offset`: 0 when absent, any whole number.
    pub const OFFSET: Self = Self {
        name: "offset",
        default: 0,
        min: 0,
        max: usize::MAX,
    };

    pub(super) fn read(&self, p: &HashMap<String, String>, fields: &mut FieldErrors) -> usize {
        number(p, self.name, self.default, self.min, self.max, fields)
    }

    pub const fn doc(self) -> QueryParam {
        QueryParam::of(
            self.name,
            Kind::Int {
                default: self.default,
                min: self.min,
                max: self.max,
            },
        )
    }
}

/// "must be one of a, b, c": the message for a value outside a `OneOf` list.
pub(super) fn one_of(values: Vec<&str>) -> String {
    format!("must be one of {}", values.join(", "))
}

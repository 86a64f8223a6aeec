//! The inquiry a prospect submits, and the parsing of the web form's body into it.
//!
//! Parsing reports every failing field at once, keyed by the field's JSON name, so
//! the form can mark them all in one round trip.

use super::categorise::Priority;
use super::email::Email;
use super::service::ServiceType;
use super::status::InquiryStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// `inq_` and a lowercase ULID: unique, sortable by creation time, safe in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InquiryId(String);

impl InquiryId {
    pub fn new(ulid: ulid::Ulid) -> Self {
        Self(format!("inq_{}", ulid.to_string().to_lowercase()))
    }

    /// Accepts only what `new` produces, so a path segment can never smuggle a key.
    pub fn parse(s: &str) -> Option<Self> {
        is_prefixed_ulid(s, "inq_").then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InquiryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is `prefix` and a lowercase ULID, as the ids of this crate are: the
/// only shape a path segment may have to become part of a store key.
pub(crate) fn is_prefixed_ulid(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 26
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    })
}

/// Whether `s` is 1–64 characters of `[A-Za-z0-9_-]`: a name (a hook's, a chat
/// session's) that can become part of a store key without smuggling a separator.
pub(crate) fn is_key_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The characters typed text may not hold, as inclusive code point ranges: the
/// control characters (`char::is_control`), less line breaks and tabs where the text
/// may span lines. `is_clean` checks text against them and `clean_pattern` states
/// them to clients, so the API's description says what the validators do.
fn forbidden(multiline: bool) -> &'static [(u32, u32)] {
    match multiline {
        true => &[(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F)],
        false => &[(0x00, 0x1F), (0x7F, 0x9F)],
    }
}

/// Whether `s` holds none of the `forbidden` characters.
pub fn is_clean(s: &str, multiline: bool) -> bool {
    let ranges = forbidden(multiline);
    !s.chars().any(|c| {
        ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
    })
}

/// A regular expression (JSON Schema `pattern`) matching exactly the `is_clean` text.
pub fn clean_pattern(multiline: bool) -> String {
    let class: String = forbidden(multiline)
        .iter()
        .map(|(lo, hi)| format!("\\u{lo:04X}-\\u{hi:04X}"))
        .collect();
    format!("^[^{class}]*$")
}

/// Per-field messages, ordered by field name for stable responses.
pub type FieldErrors = BTreeMap<String, String>;

/// A submission that passed every rule in API.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInquiry {
    pub name: String,
    pub email: Email,
    pub company: String,
    pub phone: String,
    pub services: Vec<ServiceType>,
    pub message: String,
    pub source: String,
}

/// A stored inquiry, serialised exactly as API.md's Inquiry object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inquiry {
    pub id: InquiryId,
    pub name: String,
    pub email: Email,
    pub company: String,
    pub phone: String,
    pub services: Vec<ServiceType>,
    pub message: String,
    pub source: String,
    pub status: InquiryStatus,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

struct Rules<'a> {
    body: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl Rules<'_> {
    fn fail(&mut self, field: &str, msg: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_insert_with(|| msg.into());
    }

    /// A string field, trimmed. `None` when absent or null; records an error for
    /// any other JSON type.
    fn string(&mut self, field: &str) -> Option<String> {
        match self.body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// Length in characters between `min` and `max`, no control characters
    /// (line breaks and tabs allowed where `multiline`).
    fn text(&mut self, field: &str, min: usize, max: usize, multiline: bool) -> String {
        let value = self.string(field).unwrap_or_default();
        let len = value.chars().count();
        if min > 0 && value.is_empty() && !self.errors.contains_key(field) {
            self.fail(field, "is required");
        } else if len < min {
            self.fail(field, format!("must be at least {min} characters"));
        } else if len > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if !is_clean(&value, multiline) {
            self.fail(field, "must not contain control characters");
        }
        value
    }
}

impl NewInquiry {
    /// Parses the JSON body of `POST /api/v1/inquiries`. Unknown fields are ignored.
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let Some(body) = body.as_object() else {
            let mut e = FieldErrors::new();
            e.insert("body".into(), "must be a JSON object".into());
            return Err(e);
        };
        let mut r = Rules {
            body,
            errors: FieldErrors::new(),
        };

        let name = r.text("name", 2, 100, false);
        let email_raw = r.text("email", 1, 254, false);
        let company = r.text("company", 0, 200, false);
        let phone = r.text("phone", 0, 32, false);
        let message = r.text("message", 1, 5000, true);
        let source = r.text("source", 0, 50, false);

        let email = if r.errors.contains_key("email") {
            None
        } else {
            match Email::parse(&email_raw) {
                Ok(e) => Some(e),
                Err(msg) => {
                    r.fail("email", msg);
                    None
                }
            }
        };
        if !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            r.fail("phone", "may contain only digits, spaces and + - ( )");
        }
        let services = parse_services(body.get("services"), &mut r);

        match (r.errors.is_empty(), email) {
            (true, Some(email)) => Ok(NewInquiry {
                name,
                email,
                company,
                phone,
                services,
                message,
                source,
            }),
            _ => Err(r.errors),
        }
    }
}

fn parse_services(v: Option<&Value>, r: &mut Rules<'_>) -> Vec<ServiceType> {
    let known = || ServiceType::ALL.map(|s| s.id()).join(", ");
    let Some(v) = v.filter(|v| !v.is_null()) else {
        r.fail("services", "is required");
        return vec![];
    };
    let Some(items) = v.as_array() else {
        r.fail("services", "must be a list of service ids");
        return vec![];
    };
    if items.is_empty() {
        r.fail("services", "must name at least one service");
    }
    let mut out = Vec::new();
    for item in items {
        match item.as_str().and_then(ServiceType::parse) {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => {
                r.fail(
                    "services",
                    format!("unknown service; known services are {}", known()),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "name": "  Jane Doe ",
            "email": "jane@example.com",
            "services": ["migration", "assessment", "migration"],
            "message": "We want to move to AWS.\nTwo data centres.",
            "extra": "ignored"
        })
    }

    #[test]
    fn parses_a_valid_body_and_defaults_optional_fields() {
        let n = NewInquiry::parse(&valid()).unwrap();
        assert_eq!(n.name, "Jane Doe");
        assert_eq!(
            n.services,
            [ServiceType::Migration, ServiceType::Assessment]
        );
        assert_eq!(
            (n.company.as_str(), n.phone.as_str(), n.source.as_str()),
            ("", "", "")
        );
        assert!(n.message.contains('\n'));
    }

    #[test]
    fn stores_markup_as_given() {
        let mut b = valid();
        b["company"] = json!("<b>Acme</b> & Sons");
        assert_eq!(NewInquiry::parse(&b).unwrap().company, "<b>Acme</b> & Sons");
    }

    #[test]
    fn reports_every_failing_field_at_once() {
        let body = json!({
            "name": "J",
            "email": "not-an-email",
            "company": "x".repeat(201),
            "phone": "call me",
            "services": ["teleportation"],
            "message": "",
            "source": "y".repeat(51)
        });
        let e = NewInquiry::parse(&body).unwrap_err();
        let fields: Vec<&str> = e.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            ["company", "email", "message", "name", "phone", "services", "source"]
        );
        assert_eq!(e["email"], "must be a valid e-mail address");
    }

    #[test]
    fn boundaries_are_inclusive() {
        let mut b = valid();
        b["name"] = json!("ab");
        b["message"] = json!("m".repeat(5000));
        b["phone"] = json!(format!("+1 (555) {}", "1".repeat(23)));
        assert!(NewInquiry::parse(&b).is_ok());
        b["name"] = json!("n".repeat(101));
        b["message"] = json!("m".repeat(5001));
        let e = NewInquiry::parse(&b).unwrap_err();
        assert!(e.contains_key("name") && e.contains_key("message"));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let mut b = valid();
        b["name"] = json!("é".repeat(100));
        assert!(NewInquiry::parse(&b).is_ok());
    }

    #[test]
    fn clean_text_is_text_without_control_characters_and_its_pattern_says_so() {
        for multiline in [false, true] {
            for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
                let allowed = !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
                assert_eq!(is_clean(&c.to_string(), multiline), allowed, "{c:?}");
            }
        }
        assert_eq!(clean_pattern(false), r"^[^\u0000-\u001F\u007F-\u009F]*$");
        assert_eq!(
            clean_pattern(true),
            r"^[^\u0000-\u0008\u000B-\u000C\u000E-\u001F\u007F-\u009F]*$"
        );
    }

    #[test]
    fn wrong_types_and_control_characters_are_field_errors() {
        let body = json!({"name": 42, "email": ["a@b.io"], "services": "migration", "message": "hi\u{0007}"});
        let e = NewInquiry::parse(&body).unwrap_err();
        assert_eq!(e["name"], "must be a string");
        assert_eq!(e["email"], "must be a string");
        assert_eq!(e["services"], "must be a list of service ids");
        assert_eq!(e["message"], "must not contain control characters");
        let mut b = valid();
        b["name"] = json!("Jane\nDoe");
        assert!(NewInquiry::parse(&b).unwrap_err().contains_key("name"));
    }

    #[test]
    fn non_object_bodies_and_empty_services_are_refused() {
        assert!(NewInquiry::parse(&json!([1, 2]))
            .unwrap_err()
            .contains_key("body"));
        let mut b = valid();
        b["services"] = json!([]);
        assert!(NewInquiry::parse(&b).unwrap_err().contains_key("services"));
    }

    #[test]
    fn inquiry_ids_are_strict() {
        let id = InquiryId::new(ulid::Ulid::new());
        assert_eq!(InquiryId::parse(id.as_str()), Some(id));
        for bad in [
            "",
            "inq_",
            "inq_../../etc",
            "INQ_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "inq_01ARZ3NDEKTSV4RRFFQ69G5FA#",
        ] {
            assert!(InquiryId::parse(bad).is_none(), "{bad}");
        }
    }
}

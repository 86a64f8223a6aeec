//! The OpenAPI 3.1 document, built from the route table (`document`) so it lists
//! exactly the routes the routers register, with the envelope schemas of API.md.
//!
//! It is served from `shared/http/openapi.json`, the built document checked in: serving
//! it built at request time would link every admin handler into the public-api
//! function, a fifth of its size and of its cold start. A test fails when the
//! file and the route table disagree (and `UPDATE_OPENAPI=1` rewrites it).

use super::admin::MAX_CREDENTIAL_CHARS;
use super::routes::{Access, Route};
use axum::http::header;
use axum::response::IntoResponse;
use backend_core::app::erasure::ErasureReason;
use backend_core::app::idempotency::IdempotencyKey;
use backend_core::domain::chat::{SessionId, MAX_CLIENT_NAME, MAX_CONTENT_CHARS, MAX_JSON_BYTES};
use backend_core::domain::inquiry::clean_pattern;
use backend_core::domain::{InquiryStatus, Priority, ServiceType};
use serde_json::{json, Map, Value};

/// The document of every route, as `document(&routes::all())` builds it.
pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = r
                .path_params
                .iter()
                .find(|p| p.name == name)
                .map_or(json!({"type": "string"}), |p| p.schema());
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    params.extend(r.query.iter().map(
        |q| json!({"name": q.name, "in": "query", "required": q.required, "schema": q.schema()}),
    ));
    if r.body == Some("NewInquiry") {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "pattern": IdempotencyKey::PATTERN}}));
    }
    let (status, ok_schema) = r.ok;
    let ok_content = match ok_schema {
        Some(s) => json!({"application/json": {"schema": schema_ref(s)}}),
        None => Value::Object(
            r.ok_types
                .iter()
                .map(|t| (t.to_string(), json!({"schema": {"type": "string"}})))
                .collect(),
        ),
    };
    let mut responses = Map::new();
    responses.insert(
        status.to_string(),
        json!({"description": "Success", "content": ok_content}),
    );
    let error = json!({"description": "Error envelope", "content": {"application/json": {"schema": schema_ref("Error")}}});
    let mut errors = vec![404, 429, 500, 503];
    if r.body.is_some() {
        errors.extend([400, 413, 415]);
    }
    if !r.query.is_empty() {
        errors.push(400);
    }
    if r.access == Access::Admin {
        errors.extend([401, 403]);
    }
    if r.method == axum::http::Method::PUT {
        errors.push(409);
    }
    errors.extend(r.errors);
    for code in errors {
        responses.insert(code.to_string(), error.clone());
    }
    let mut op = json!({
        "operationId": format!("{}_{}", r.method.as_str().to_lowercase(), r.path.trim_matches('/').replace(['/', '{', '}', '.'], "_")),
        "summary": r.summary,
        "tags": [r.tag],
        "parameters": params,
        "responses": responses,
    });
    if let Some(b) = r.body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(b)}}});
    }
    op["security"] = match r.access {
        Access::Admin => json!([{"bearerAuth": []}]),
        Access::Public => json!([]),
    };
    op
}

pub fn document(table: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in table {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cloud-consulting backend",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Web-form intake and the consultants' admin API. Every error uses the envelope {success: false, error, code, details?}."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": merged(schemas(), chat_schemas()),
        },
    })
}

fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn envelope(data: Value) -> Value {
    json!({"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": data}})
}

/// The fields a session's creator (`with_status` false: a status given is the
/// server's to set, and ignored) or editor may send.
fn session_fields(with_status: bool) -> Value {
    let mut fields = json!({
        "type": "object",
        "properties": {
            "client_name": {"type": ["string", "null"], "maxLength": MAX_CLIENT_NAME, "pattern": clean_pattern(true)},
            "context": {
                "anyOf": [
                    {"type": "string", "pattern": clean_pattern(true)},
                    {"type": "object", "properties": {"inquiry_id": {"type": ["string", "null"], "pattern": "^inq_[0-9a-z]{26}$"}}},
                    {"type": "null"}
                ],
                "description": format!("Free text, or an object; its inquiry_id grounds the answers in that inquiry and its report. At most {MAX_JSON_BYTES} bytes as JSON")
            },
            "metadata": {"type": ["object", "null"], "description": format!("At most {MAX_JSON_BYTES} bytes as JSON")}
        }
    });
    if with_status {
        fields["properties"]["status"] = json!({"enum": ["active", "inactive", null]});
    }
    fields
}

/// The chat's objects and envelopes.
fn chat_schemas() -> Value {
    json!({
        "ChatSession": {
            "type": "object",
            "required": ["id", "user_id", "client_name", "context", "status", "metadata", "created_at", "updated_at", "last_activity", "expires_at"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "user_id": {"type": "string"},
                "client_name": {"type": "string"}, "context": {"type": ["object", "string", "null"]},
                "status": {"enum": ["active", "inactive", "expired"]}, "metadata": {"type": "object"},
                "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
                "last_activity": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"}
            }
        },
        "ChatSessionFields": session_fields(true),
        "ChatSessionNew": session_fields(false),
        "ChatSessionEnvelope": envelope(schema_ref("ChatSession")),
        "ChatSessionPage": envelope(json!({"type": "object", "properties": {
            "sessions": {"type": "array", "items": schema_ref("ChatSession")},
            "total_count": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"}}})),
        "Deleted": {"type": "object", "required": ["success", "message"], "properties": {"success": {"const": true}, "message": {"type": "string"}}},
        "ChatMessage": {
            "type": "object",
            "required": ["id", "session_id", "role", "type", "content", "metadata", "status", "created_at", "timestamp"],
            "properties": {
                "id": {"type": "string"}, "session_id": {"type": "string"},
                "role": {"enum": ["user", "assistant"]}, "type": {"enum": ["user", "assistant"]},
                "content": {"type": "string"}, "metadata": {"type": "object"},
                "status": {"enum": ["complete", "incomplete"]},
                "created_at": {"type": "string", "format": "date-time"}, "timestamp": {"type": "string", "format": "date-time"}
            }
        },
        "ChatHistory": envelope(json!({"type": "object", "properties": {
            "messages": {"type": "array", "items": schema_ref("ChatMessage")},
            "stats": {"type": "object"}, "limit": {"type": "integer"},
            "has_more": {"type": "boolean"}, "next_before": {"type": ["string", "null"], "description": "pass as `before` for the page of older messages"}}})),
        "ChatMetrics": envelope(json!({"type": "object"})),
        "ChatHealth": envelope(json!({"type": "object", "properties": {"status": {"enum": ["healthy", "unhealthy"]}, "checks": {"type": "object"}}})),
        "SimpleChatQuestion": {"type": "object", "required": ["content"], "properties": {"content": not_blank(text(1, MAX_CONTENT_CHARS, true)), "session_id": {"anyOf": [{"type": "string", "pattern": SessionId::PATTERN}, {"type": "string", "maxLength": 0}, {"type": "null"}], "description": "none starts a new session"}}},
        "SimpleChatAnswer": {"type": "object", "required": ["success", "message_id"], "properties": {"success": {"const": true}, "message_id": {"type": "string"}, "session_id": {"type": "string"}, "response": schema_ref("ChatMessage")}},
        "ChatQuestion": {"type": "object", "required": ["content", "session_id"], "properties": {"content": not_blank(text(1, MAX_CONTENT_CHARS, true)), "session_id": {"type": "string", "pattern": SessionId::PATTERN}, "client_name": {"type": ["string", "null"], "maxLength": MAX_CLIENT_NAME, "pattern": clean_pattern(true)}}},
        "ChatAnswer": {"type": "object", "required": ["success", "message_id", "content", "type"], "properties": {"success": {"const": true}, "message_id": {"type": "string"}, "content": {"type": "string"}, "type": {"const": "assistant"}, "session_id": {"type": "string"}, "metadata": {"type": "object"}}},
        "ChatMessages": {"type": "object", "required": ["success", "messages"], "properties": {"success": {"const": true}, "messages": {"type": "array", "items": schema_ref("ChatMessage")}, "has_more": {"type": "boolean"}}}
    })
}

/// Text of `min..=max` characters without control characters (line breaks and tabs
/// allowed where `multiline`), as `domain::inquiry::is_clean` checks it.
fn text(min: usize, max: usize, multiline: bool) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max, "pattern": clean_pattern(multiline)})
}

/// An optional field: null is read as absent.
fn or_null(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// Text with a character other than white space: the validators trim before they
/// measure, so blank text is empty text.
fn not_blank(schema: Value) -> Value {
    json!({"allOf": [schema, {"pattern": "\\S"}]})
}

fn schemas() -> Value {
    let services: Vec<&str> = ServiceType::ALL.iter().map(|s| s.id()).collect();
    let statuses: Vec<&str> = InquiryStatus::ALL.iter().map(|s| s.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|s| s.as_str()).collect();
    let mut schemas = json!({
        "Error": {
            "type": "object",
            "required": ["success", "error", "code"],
            "properties": {
                "success": {"const": false},
                "error": {"type": "string"},
                "code": {"type": "string"},
                "details": {"type": "object", "properties": {"fields": {"type": "object", "additionalProperties": {"type": "string"}}}}
            }
        },
        "NewInquiry": {
            "type": "object",
            "required": ["name", "email", "services", "message"],
            "properties": {
                "name": not_blank(text(2, 100, false)),
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "company": or_null(text(0, 200, false)),
                "phone": or_null(json!({"type": "string", "maxLength": 32, "pattern": "^[0-9 +()-]*$"})),
                "services": {"type": "array", "minItems": 1, "items": {"enum": services}},
                "message": not_blank(text(1, 5000, true)),
                "source": or_null(text(0, 50, false))
            }
        },
        "Inquiry": {
            "type": "object",
            "required": ["id", "name", "email", "company", "phone", "services", "message", "source", "status", "priority", "tags", "created_at", "updated_at"],
            "properties": {
                "id": {"type": "string", "pattern": "^inq_[0-9a-z]{26}$"},
                "name": {"type": "string"}, "email": {"type": "string"}, "company": {"type": "string"},
                "phone": {"type": "string"}, "message": {"type": "string"}, "source": {"type": "string"},
                "services": {"type": "array", "items": {"enum": services}},
                "status": {"enum": statuses},
                "priority": {"enum": priorities},
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "reports": {"type": "array", "items": schema_ref("Report"), "description": "its reports, newest first; omitted when there are none"}
            }
        },
        "InquiryEnvelope": envelope(schema_ref("Inquiry")),
        "InquiryCreated": {
            "allOf": [envelope(schema_ref("Inquiry")), {"type": "object", "properties": {"message": {"type": "string"}}}]
        },
        "InquiryPage": {
            "allOf": [envelope(json!({"type": "array", "items": schema_ref("Inquiry")})),
                      {"type": "object", "properties": {"count": {"type": "integer"}, "next_cursor": {"type": ["string", "null"]}}}]
        },
        "InquiryOffsetPage": {
            "allOf": [envelope(json!({"type": "array", "items": schema_ref("Inquiry")})),
                      {"type": "object", "properties": {"count": {"type": "integer"}, "total": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"}}}]
        },
        "StatusChange": {
            "type": "object", "required": ["status"],
            "description": format!("Allowed moves: {}. Any other move answers 409 INVALID_TRANSITION with the allowed ones in details.allowed.", InquiryStatus::table_text()),
            "properties": {"status": {"enum": statuses}, "note": {"type": ["string", "null"], "maxLength": 2000, "pattern": clean_pattern(true)}}
        },
        "Login": {
            "type": "object", "required": ["username", "password"],
            "properties": {
                "username": {"type": "string", "minLength": 1, "maxLength": MAX_CREDENTIAL_CHARS},
                "password": {"type": "string", "format": "password", "minLength": 1, "maxLength": MAX_CREDENTIAL_CHARS}
            }
        },
        "Token": {
            "type": "object", "required": ["success", "token", "expires_at"],
            "properties": {"success": {"const": true}, "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}
        },
        "Health": {
            "type": "object", "required": ["status", "service", "version", "time", "checks"],
            "properties": {
                "status": {"enum": ["healthy", "unhealthy"]}, "service": {"type": "string"}, "version": {"type": "string"},
                "time": {"type": "string", "format": "date-time"}, "checks": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
        "ServicesEnvelope": envelope(json!({
            "type": "object",
            "properties": {"services": {"type": "array", "items": {"type": "object", "required": ["id", "name", "description"],
                "properties": {"id": {"enum": services}, "name": {"type": "string"}, "description": {"type": "string"}}}}}
        })),
        "AdminMetrics": {
            "type": "object",
            "properties": {
                "success": {"const": true},
                "data": {"type": "object", "properties": {
                    "total_inquiries": {"type": "integer"}, "reports_generated": {"type": "integer"},
                    "emails_sent": {"type": "integer"}, "email_delivery_rate": {"type": "number", "minimum": 0, "maximum": 100, "description": "a percentage"},
                    "avg_report_gen_time_ms": {"type": "number"},
                    "inquiries_by_service": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "inquiries_by_status": {"type": "object", "additionalProperties": {"type": "integer"}}
                }},
                "meta": {"type": "object", "properties": {"time_range": {"enum": ["1h", "24h", "7d", "30d", "90d"]}}}
            }
        },
        "Report": {
            "type": "object",
            "required": ["id", "inquiry_id", "type", "title", "content", "status", "generated_by", "reviewed_by", "s3_key", "created_at", "updated_at"],
            "properties": {
                "id": {"type": "string", "pattern": "^rep_[0-9a-z]{26}$"}, "inquiry_id": {"type": "string"},
                "type": {"enum": ["assessment", "migration", "optimization", "architecture", "general"]},
                "title": {"type": "string"}, "content": {"type": "string", "description": "Markdown"},
                "status": {"enum": ["draft", "reviewed", "final"]}, "generated_by": {"type": "string"},
                "reviewed_by": {"type": ["string", "null"]}, "s3_key": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
                "inquiry": schema_ref("Inquiry")
            }
        },
        "ReportEnvelope": envelope(schema_ref("Report")),
        "ReportOffsetPage": {
            "allOf": [envelope(json!({"type": "array", "items": schema_ref("Report")})),
                      {"type": "object", "properties": {"count": {"type": "integer"}, "total": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"}}}]
        },
        "HookTrigger": {
            "type": "object", "required": ["inquiry_id"],
            "description": "Names one hook (hook_id) or an event whose hooks all run (event)",
            "anyOf": [{"required": ["hook_id"]}, {"required": ["event"]}],
            "properties": {"inquiry_id": {"type": "string", "pattern": "^inq_[0-9a-z]{26}$"}, "hook_id": {"type": ["string", "null"]},
                           "event": {"enum": ["inquiry_created", "report_generated", "report_failed", "status_changed", "notification_sent", "consultant_assigned"]}}
        },
        "HookList": envelope(json!({"type": "array", "items": {"type": "object", "required": ["id", "name", "event", "action"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "event": {"type": "string"},
                           "action": {"type": "object", "description": "its type and target, URLs without query or credentials, secrets omitted"}}}})),
        "HookDispatched": envelope(json!({"type": "object", "required": ["dispatch_id"], "properties": {"dispatch_id": {"type": "string"}}})),
        "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]}
    });
    if let (Some(all), Value::Object(more)) = (schemas.as_object_mut(), privacy_schemas()) {
        all.extend(more);
    }
    schemas
}

/// The personal data routes' bodies and answers (`privacy.rs`).
fn privacy_schemas() -> Value {
    json!({
        "ExportEnvelope": envelope(json!({
            "type": "object",
            "required": ["exported_at", "inquiry", "reports", "notifications", "chat_sessions"],
            "properties": {
                "exported_at": {"type": "string", "format": "date-time"},
                "inquiry": schema_ref("Inquiry"),
                "reports": {"type": "array", "items": schema_ref("Report")},
                "notifications": {"type": "array", "items": {
                    "type": "object",
                    "required": ["event_id", "action", "channel", "status", "at"],
                    "properties": {
                        "event_id": {"type": "string"}, "action": {"type": "string"}, "channel": {"type": "string"},
                        "status": {"enum": ["sent", "failed", "skipped"]}, "at": {"type": "string", "format": "date-time"},
                        "recipients": {"type": ["array", "null"], "items": {"type": "string"}},
                        "subject": {"type": ["string", "null"]}
                    }
                }},
                "chat_sessions": {"type": "array", "items": {
                    "type": "object", "required": ["session", "messages"],
                    "properties": {"session": {"type": "object"}, "messages": {"type": "array", "items": {"type": "object"}}}
                }}
            }
        })),
        "AddressRequest": {
            "type": "object", "required": ["email"],
            "properties": {
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "after": {"type": ["string", "null"], "pattern": "^inq_[0-9a-z]{26}$", "description": "the previous page's `after`"}
            }
        },
        "AddressErasureRequest": {
            "type": "object", "required": ["email", "reason"],
            "properties": {
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "reason": not_blank(text(1, ErasureReason::MAX_CHARS, true))
            }
        },
        "ExportList": {
            "type": "object", "required": ["success", "count", "more", "data"],
            "properties": {
                "success": {"const": true}, "count": {"type": "integer"}, "more": {"type": "boolean"},
                "after": {"type": ["string", "null"]},
                "data": {"type": "array", "items": {"type": "object", "required": ["exported_at", "inquiry"]}}
            }
        },
        "ErasureList": {
            "type": "object", "required": ["success", "count", "more", "data"],
            "properties": {
                "success": {"const": true}, "count": {"type": "integer"}, "more": {"type": "boolean"},
                "after": {"type": "null"},
                "data": {"type": "array", "items": {"type": "object", "required": ["inquiry_id", "erased_by", "erased_at", "reason", "removed"]}}
            }
        },
        "ErasureRequest": {
            "type": "object", "required": ["reason"],
            "properties": {"reason": not_blank(text(1, ErasureReason::MAX_CHARS, true))}
        },
        "ErasureEnvelope": envelope(json!({
            "type": "object",
            "required": ["inquiry_id", "erased_by", "erased_at", "reason", "removed"],
            "description": "The audit record: ids, times and counts, no personal data.",
            "properties": {
                "inquiry_id": {"type": "string", "pattern": "^inq_[0-9a-z]{26}$"},
                "erased_by": {"type": "string"},
                "erased_at": {"type": "string", "format": "date-time"},
                "reason": {"type": "string"},
                "removed": {
                    "type": "object",
                    "required": ["records", "reports", "report_files", "chat_sessions", "chat_messages", "idempotency_records", "undelivered_events", "mail_copies"],
                    "additionalProperties": {"type": "integer", "minimum": 0}
                }
            }
        }))
    })
}

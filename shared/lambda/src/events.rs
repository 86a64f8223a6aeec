//! Glue between Lambda event sources and the use cases: an SQS batch is handed to
//! its work whole (each message with its receive count), and the messages that failed are
//! reported back so that only they are retried (`ReportBatchItemFailures`),
//! eventually to the dead-letter queue; a WebSocket event becomes a chat-socket call.

use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use backend_core::app::auth::AuthError;
use backend_core::app::worker::QueueWork;
use backend_core::app::AppError;

/// An SQS batch through `work`, each message with its receive count; the ones that failed are reported
/// back, so only they are delivered again.
pub async fn sqs_batch(work: &dyn QueueWork, event: SqsEvent) -> SqsBatchResponse {
    let records: Vec<(String, Option<String>, u32)> = event
        .records
        .into_iter()
        .map(|record| {
            let count = record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            (record.message_id.unwrap_or_default(), record.body, count)
        })
        .collect();
    // A record without a body cannot be worked on; it fails alone.
    let (with_body, without): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.1.is_some());
    let items: Vec<(&str, u32)> = with_body
        .iter()
        .map(|(_, body, count)| (body.as_deref().unwrap_or_default(), *count))
        .collect();
    let outcomes = work.work_all(&items).await;
    let missing = || AppError::Validation([("body".to_string(), "missing".to_string())].into());
    let failed = with_body
        .iter()
        .zip(outcomes)
        .filter_map(|(r, outcome)| outcome.err().map(|e| (&r.0, e)))
        .chain(without.iter().map(|r| (&r.0, missing())));
    let mut failures = Vec::new();
    for (id, e) in failed {
        let error = backend_core::app::notify::redacted(&e.to_string());
        tracing::warn!(message_id = %id, %error, "message failed; returned to the queue");
        let mut f = BatchItemFailure::default();
        f.item_identifier = id.clone();
        failures.push(f);
    }
    let mut resp = SqsBatchResponse::default();
    resp.batch_item_failures = failures;
    resp
}

/// One API Gateway WebSocket event (`$connect`, `$disconnect`, or a frame on
/// `$default`) through the chat socket. `$connect` answers 401/403 to a bad token,
/// which refuses the upgrade; a frame always answers 200, its outcome having been
/// pushed to the connection.
pub async fn websocket(
    socket: &backend_core::app::chat_socket::ChatSocket,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let ctx = &event.request_context;
    let connection = ctx.connection_id.clone().unwrap_or_default();
    let route = ctx.route_key.as_deref().unwrap_or("$default");
    let status = match route {
        "$connect" => {
            let token = event.query_string_parameters.first("token");
            match socket.connect(&connection, token).await {
                Ok(_) => 200,
                Err(AppError::Auth(AuthError::Forbidden)) => 403,
                Err(AppError::Auth(_)) => 401,
                Err(e) => {
                    tracing::error!(error = %e, "could not store the connection");
                    503
                }
            }
        }
        "$disconnect" => match socket.disconnect(&connection).await {
            Ok(()) => 200,
            Err(e) => {
                tracing::warn!(error = %e, "could not forget the connection");
                200
            }
        },
        _ => {
            let body = event.body.unwrap_or_default();
            let text = if event.is_base64_encoded {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(body.as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default()
            } else {
                body
            };
            socket.receive(&connection, &text).await;
            200
        }
    };
    let mut resp = ApiGatewayProxyResponse::default();
    resp.status_code = status;
    resp
}

/// Where pushes go: `CHAT_CALLBACK_URL` when set, else the API's own
/// `https://{domain}/{stage}` from the event.
pub fn callback_url(
    event: &ApiGatewayWebsocketProxyRequest,
    configured: Option<String>,
) -> Option<String> {
    configured.filter(|u| !u.trim().is_empty()).or_else(|| {
        let ctx = &event.request_context;
        Some(format!(
            "https://{}/{}",
            ctx.domain_name.as_deref()?,
            ctx.stage.as_deref()?
        ))
    })
}

//! Every file in `events/` through its function's named handler, in-process: the
//! services built as the function's `main.rs` builds them (`backend_lambda::settings`
//! over the environment the RIE run gives the binary, with the function's `NEEDS`,
//! then its `service`/`router`), and asserted with the same tables and checks as
//! the RIE run (`system_tests::lambda_events`). No binary, no emulator, no process
//! start: the quick loop for an event's expectations.
//!
//! The one difference from `main.rs`: where the SDK configuration is read. A
//! function reads its process environment (`backend_lambda::start`); tests share
//! one process and run in parallel, so here the same `backend_aws::sdk_config_from`
//! reads the function's test environment.

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use backend_aws::SdkConfig;
use backend_lambda::{
    admin_api, chat_ws, notify_worker, outbox_relay, public_api, report_worker, LambdaEvent, Part,
    Settings,
};
use futures::future::BoxFuture;
use lambda_http::request::{LambdaRequest, RequestOrigin};
use system_tests::lambda_events::{
    AdminApi, ChatWs, Invoke, NotifyWorker, OutboxRelay, PublicApi, ReportWorker,
};
use system_tests::{json, lookup, Value};
use tower::ServiceExt;

/// A function's environment, as the RIE run passes it to the binary.
type Env = Vec<(&'static str, String)>;

/// The SDK configuration and settings a function's environment gives it, as
/// `backend_lambda::start` reads them (secrets the environment names included).
async fn configured(env: &Env, needs: &[Part]) -> (SdkConfig, Settings) {
    let sdk = sdk_config(env);
    let settings = backend_lambda::settings(&sdk, |k| lookup(env, k), needs)
        .await
        .unwrap_or_else(|e| panic!("the function's test environment is valid: {e}"));
    (sdk, settings)
}

/// The SDK configuration a function would build from `env` as its process
/// environment: nothing from the test process's environment or profile files.
fn sdk_config(env: &Env) -> SdkConfig {
    let env = env.clone();
    backend_aws::sdk_config_from(move |name| lookup(&env, name))
}

/// A function's named handler on its services: the event's JSON deserialised into
/// the handler's event type, the answer serialised as the runtime serialises it.
struct Handler(Box<dyn Fn(Value) -> BoxFuture<'static, Value> + Send + Sync>);

/// `Handler` for `$handler(&service, LambdaEvent<_>)`.
macro_rules! handler {
    ($service:expr, $handler:path) => {{
        let service = std::sync::Arc::new($service);
        Handler(Box::new(move |event: Value| {
            let service = service.clone();
            Box::pin(async move {
                let payload = serde_json::from_value(event)
                    .unwrap_or_else(|e| panic!("not the handler's event type: {e}"));
                let event = LambdaEvent::new(payload, lambda_runtime::Context::default());
                match $handler(&service, event).await {
                    Ok(answer) => serde_json::to_value(answer).expect("the answer serialises"),
                    // What the runtime reports for a handler's error.
                    Err(e) => json!({"errorType": "handler error", "errorMessage": e.to_string()}),
                }
            })
        }))
    }};
}

#[async_trait]
impl Invoke for Handler {
    async fn invoke(&self, event: &Value) -> Value {
        (self.0)(event.clone()).await
    }
    fn log(&self) -> String {
        String::new()
    }
}

/// A function's router behind `lambda_http`'s conversions: the API Gateway event
/// becomes an `http` request, the response the API Gateway response of the event's
/// payload version, as `lambda_http` turns them.
struct Http(axum::Router);

#[async_trait]
impl Invoke for Http {
    async fn invoke(&self, event: &Value) -> Value {
        let req: LambdaRequest =
            serde_json::from_value(event.clone()).expect("an API Gateway event");
        let origin = req.request_origin();
        let resp = self
            .0
            .clone()
            .oneshot(lambda_http::Request::from(req))
            .await
            .expect("infallible");
        // The body as text or base64, as lambda_http decides from its content type.
        let (parts, body) = lambda_http::IntoResponse::into_response(resp)
            .await
            .into_parts();
        let (is_base64_encoded, body) = match body {
            b @ lambda_http::Body::Text(_) => (false, Some(b)),
            b @ lambda_http::Body::Binary(_) => (true, Some(b)),
            _ => (false, None),
        };
        let status_code = i64::from(parts.status.as_u16());
        let out = match origin {
            RequestOrigin::ApiGatewayV2 => {
                let mut headers = parts.headers;
                let set_cookie = lambda_http::http::header::SET_COOKIE;
                let mut out = ApiGatewayV2httpResponse::default();
                out.cookies = headers
                    .get_all(&set_cookie)
                    .iter()
                    .map(|v| v.to_str().unwrap_or_default().to_string())
                    .collect();
                headers.remove(set_cookie);
                out.status_code = status_code;
                out.headers = headers;
                out.body = body;
                out.is_base64_encoded = is_base64_encoded;
                serde_json::to_value(out)
            }
            RequestOrigin::ApiGatewayV1 => {
                let mut out = ApiGatewayProxyResponse::default();
                out.status_code = status_code;
                out.multi_value_headers = parts.headers;
                out.body = body;
                out.is_base64_encoded = is_base64_encoded;
                serde_json::to_value(out)
            }
            other => panic!("no event in events/ comes from {other:?}"),
        };
        out.expect("the response serialises")
    }
    fn log(&self) -> String {
        String::new()
    }
}

/// One test per function: its rig (resources, environment, event table), its
/// services built as its `main.rs` builds them, and every event through its handler
/// (a router behind `lambda_http`'s conversions, or the named handler).
macro_rules! handles_every_event {
    ($test:ident, $rig:ident, $function:ident, router) => {
        handles_every_event!(@test $test, $rig, $function::router, |built| Http(built));
    };
    ($test:ident, $rig:ident, $function:ident, service) => {
        handles_every_event!(@test $test, $rig, $function::service, |built| {
            handler!(built, $function::handler)
        });
    };
    (@test $test:ident, $rig:ident, $function:ident :: $build:ident, |$built:ident| $invoke:expr) => {
        #[tokio::test]
        async fn $test() {
            let rig = $rig::new().await;
            let (sdk, settings) = configured(&rig.env(), $function::NEEDS).await;
            let $built = $function::$build(&sdk, settings)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            rig.check(&$invoke).await;
        }
    };
}

handles_every_event!(
    public_api_handles_every_event,
    PublicApi,
    public_api,
    router
);
handles_every_event!(admin_api_handles_every_event, AdminApi, admin_api, router);
handles_every_event!(
    report_worker_handles_every_event,
    ReportWorker,
    report_worker,
    service
);
handles_every_event!(
    notify_worker_handles_every_event,
    NotifyWorker,
    notify_worker,
    service
);
handles_every_event!(
    outbox_relay_handles_every_event,
    OutboxRelay,
    outbox_relay,
    service
);
handles_every_event!(chat_ws_handles_every_event, ChatWs, chat_ws, service);

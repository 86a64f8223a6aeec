//! The warm path of the web form's POST: an API Gateway (payload 2.0) event from
//! `events/public-api/create-inquiry.json` through `lambda_http`'s conversion, the
//! public router and the embedded store and queue, to the response Lambda returns.
//! Side by side, the same conversion around a handler that only says hello.

use backend_core::app::Deps;
use backend_core::ports::SystemClock;
use backend_http::{public_router, AppState};
use criterion::{criterion_group, criterion_main, Criterion};
use lambda_http::request::LambdaRequest;
use std::sync::Arc;
use tower::ServiceExt;

fn event(name: &str) -> String {
    let path = format!(
        "{}/../../events/public-api/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One invocation: event JSON in, API Gateway response JSON out.
async fn invoke(router: axum::Router, event: &str) -> String {
    let req: LambdaRequest = serde_json::from_str(event).expect("an API Gateway event");
    let resp = router
        .oneshot(lambda_http::Request::from(req))
        .await
        .expect("infallible");
    let (parts, body) = resp.into_parts();
    let bytes = http_body_util::BodyExt::collect(body)
        .await
        .expect("body")
        .to_bytes();
    // The payload 2.0 response Lambda hands back to API Gateway.
    let mut out = aws_lambda_events::apigw::ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    out.body = Some(aws_lambda_events::encodings::Body::Text(
        String::from_utf8_lossy(&bytes).into_owned(),
    ));
    serde_json::to_string(&out).expect("serialisable")
}

fn warm_path(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let adapters =
        backend_embedded::in_memory(dir.path(), backend_core::app::outbox::feed_filter())
            .expect("adapters");
    let deps = Deps::new(adapters, Arc::new(SystemClock));
    let router = public_router(AppState::new(deps, Default::default()));
    let hello = axum::Router::new().route(
        "/api/v1/inquiries",
        axum::routing::post(|| async { "hello" }),
    );
    let create = event("create-inquiry.json");
    let answer = rt.block_on(invoke(router.clone(), &create));
    assert!(answer.contains("\"statusCode\":201"), "{answer}");

    let mut g = c.benchmark_group("warm_path");
    g.bench_function("hello_baseline", |b| {
        b.to_async(&rt).iter(|| invoke(hello.clone(), &create))
    });
    g.bench_function("post_inquiry", |b| {
        b.to_async(&rt).iter(|| invoke(router.clone(), &create))
    });
    g.finish();
}

criterion_group!(benches, warm_path);
criterion_main!(benches);

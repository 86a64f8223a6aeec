//! The Bedrock adapter with the real SDK client against a local stub of the Converse
//! API: success, throttling, 5xx, timeout, a refused request and malformed answers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use shared::adapters::aws::BedrockLlm;
use shared::ports::llm::{Llm, LlmError, Prompt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use system_tests::{json, Value};

#[derive(Clone, Copy)]
enum Mode {
    Ok,
    Throttled,
    ServerError,
    Slow,
    Refused,
    Malformed,
    NoText,
}

#[derive(Clone)]
struct Stub {
    mode: Mode,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn converse(
    State(s): State<Stub>,
    Path(model): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    s.seen.lock().unwrap().push((model, body));
    let err = |code: StatusCode, kind: &str| {
        (
            code,
            [("x-amzn-errortype", kind.to_string())],
            Json(json!({"message": format!("stub {kind}")})),
        )
            .into_response()
    };
    match s.mode {
        Mode::Ok => Json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "## Executive summary\n"}, {"text": "Drafted by the stub."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
            "metrics": {"latencyMs": 3}
        }))
        .into_response(),
        Mode::Throttled => err(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException"),
        Mode::ServerError => err(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
        Mode::Refused => err(StatusCode::BAD_REQUEST, "ValidationException"),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::OK.into_response()
        }
        Mode::Malformed => (StatusCode::OK, [("content-type", "application/json")], "{\"output\": [truncated").into_response(),
        Mode::NoText => Json(json!({
            "output": {"message": {"role": "assistant", "content": []}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 0, "totalTokens": 1},
            "metrics": {"latencyMs": 1}
        }))
        .into_response(),
    }
}

async fn stub(mode: Mode) -> (BedrockLlm, Stub) {
    let state = Stub {
        mode,
        seen: Arc::default(),
    };
    let app = Router::new()
        .route("/model/{model}/converse", post(converse))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{addr}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    (BedrockLlm::new(&sdk, "anthropic.claude-stub-v1"), state)
}

fn prompt() -> Prompt {
    Prompt {
        system: "system text".into(),
        user: "<inquiry>hello</inquiry>".into(),
        max_tokens: 512,
        timeout: Duration::from_millis(700),
    }
}

#[tokio::test]
async fn a_converse_answer_becomes_a_completion() {
    let (llm, stub) = stub(Mode::Ok).await;
    let c = llm.complete(&prompt()).await.unwrap();
    assert_eq!(c.text, "## Executive summary\nDrafted by the stub.");
    assert_eq!(c.model, "anthropic.claude-stub-v1");
    let seen = stub.seen.lock().unwrap();
    let (model, body) = &seen[0];
    assert_eq!(model, "anthropic.claude-stub-v1");
    assert_eq!(body["system"][0]["text"], "system text");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(
        body["messages"][0]["content"][0]["text"],
        "<inquiry>hello</inquiry>"
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 512);
}

#[tokio::test]
async fn failures_are_classified_for_the_retry_policy() {
    for (mode, transient) in [
        (Mode::Throttled, true),
        (Mode::ServerError, true),
        (Mode::Slow, true),
        (Mode::Refused, false),
        (Mode::Malformed, false),
        (Mode::NoText, false),
    ] {
        let (llm, stub) = stub(mode).await;
        let err = llm.complete(&prompt()).await.unwrap_err();
        assert_eq!(matches!(err, LlmError::Transient(_)), transient, "{err:?}");
        assert_eq!(
            stub.seen.lock().unwrap().len(),
            1,
            "the SDK does not retry on its own: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_failing_model_still_yields_a_template_report() {
    use shared::app::drafting::{CircuitBreaker, Drafter, RetryPolicy};
    let (llm, stub) = stub(Mode::ServerError).await;
    let retry = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    let drafter = Drafter::new(
        Some(Arc::new(llm)),
        retry,
        CircuitBreaker::new(5, Duration::from_secs(60)),
    );
    let adapters = system_tests::embedded_adapters();
    let deps = shared::app::Deps::new(adapters, Arc::new(shared::ports::SystemClock));
    let out = shared::app::InquiryService::new(deps)
        .submit(&system_tests::inquiry_body(), None, "c")
        .await
        .unwrap();
    let inquiry = serde_json::from_value(out.body["data"].clone()).unwrap();
    let drafted = drafter.draft(&inquiry).await;
    assert_eq!(drafted.generated_by, "template");
    assert!(drafted.markdown.contains("not written by AI"));
    assert_eq!(stub.seen.lock().unwrap().len(), 2);
}

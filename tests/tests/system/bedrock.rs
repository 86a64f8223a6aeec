//! The Bedrock adapter with the real SDK client against a local stub of the Converse
//! API: success, throttling, 5xx, timeout, a refused request and malformed answers.

use backend_aws::BedrockLlm;
use backend_core::ports::llm::{Llm, LlmError, Prompt};
use std::sync::Arc;
use std::time::Duration;
use system_tests::bedrock_stub::{start, Mode};

async fn stub(mode: Mode) -> (BedrockLlm, system_tests::bedrock_stub::Stub) {
    let stub = start(mode).await;
    let sdk = stub.sdk_config().await;
    (BedrockLlm::new(&sdk, "anthropic.claude-stub-v1"), stub)
}

fn prompt() -> Prompt {
    Prompt {
        system: "system text".into(),
        user: "<inquiry>hello</inquiry>".into(),
        max_tokens: 512,
        timeout: Duration::from_millis(1500),
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
    use backend_core::app::drafting::{CircuitBreaker, Drafter, RetryPolicy};
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
    let deps = backend_core::app::Deps::new(adapters, Arc::new(backend_core::ports::SystemClock));
    let out = backend_core::app::InquiryService::new(deps)
        .submit(&system_tests::inquiry_body(), None, "c")
        .await
        .unwrap();
    let inquiry = out.inquiry;
    let drafted = drafter.draft(&inquiry).await;
    assert_eq!(drafted.generated_by, "template");
    assert!(drafted.markdown.contains("not written by AI"));
    assert_eq!(stub.seen.lock().unwrap().len(), 2);
}

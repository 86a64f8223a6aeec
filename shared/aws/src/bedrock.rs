//! The language model on Amazon Bedrock through the Converse API. Retries are the
//! drafter's (with jitter and a circuit breaker), so the SDK's own are turned off;
//! throttling, 5xx, model timeouts and transport failures are transient, anything
//! else (a refused request, an answer without text) is permanent.
//!
//! The chat streams through ConverseStream: each text delta of the event stream
//! becomes one piece of the answer as it arrives.

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput, ConverseStreamOutput,
    InferenceConfiguration, Message, SystemContentBlock,
};
use aws_sdk_bedrockruntime::Client;
use backend_core::domain::chat::Role;
use backend_core::ports::llm::{
    ChatModel, Completion, Conversation, Llm, LlmError, Prompt, TextStream,
};

#[derive(Clone)]
pub struct BedrockLlm {
    client: Client,
    model_id: String,
}

impl BedrockLlm {
    pub fn new(sdk: &aws_types::SdkConfig, model_id: &str) -> Self {
        let conf = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: Client::from_conf(conf),
            model_id: model_id.to_string(),
        }
    }
}

fn classify(
    e: SdkError<ConverseError, aws_sdk_bedrockruntime::config::http::HttpResponse>,
) -> LlmError {
    let text = DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => LlmError::Transient(text),
        SdkError::ServiceError(se) => match se.err() {
            ConverseError::ThrottlingException(_)
            | ConverseError::ServiceUnavailableException(_)
            | ConverseError::InternalServerException(_)
            | ConverseError::ModelTimeoutException(_)
            | ConverseError::ModelNotReadyException(_) => LlmError::Transient(text),
            _ if se.raw().status().as_u16() >= 500 || se.raw().status().as_u16() == 429 => {
                LlmError::Transient(text)
            }
            _ => LlmError::Permanent(text),
        },
        _ => LlmError::Permanent(text),
    }
}

#[async_trait]
impl Llm for BedrockLlm {
    async fn complete(&self, prompt: &Prompt) -> Result<Completion, LlmError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(prompt.user.clone()))
            .build()
            .map_err(|e| LlmError::Permanent(e.to_string()))?;
        let call = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(prompt.system.clone()))
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(prompt.max_tokens.min(i32::MAX as u32) as i32)
                    .temperature(0.3)
                    .build(),
            )
            .send();
        let out = tokio::time::timeout(prompt.timeout, call)
            .await
            .map_err(|_| LlmError::Transient(format!("no answer within {:?}", prompt.timeout)))?
            .map_err(classify)?;
        let text: String = match out.output() {
            Some(ConverseOutput::Message(m)) => m
                .content()
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        };
        if text.trim().is_empty() {
            return Err(LlmError::Permanent(
                "the model answered without text".into(),
            ));
        }
        Ok(Completion {
            text,
            model: self.model_id.clone(),
        })
    }
}

/// Exception names in a stream or a failed start that another try may cure.
fn transient_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "ServiceUnavailableException"
                | "InternalServerException"
                | "ModelStreamErrorException"
                | "ModelTimeoutException"
                | "ModelNotReadyException"
        )
    )
}

fn classify_stream_start(
    e: SdkError<ConverseStreamError, aws_sdk_bedrockruntime::config::http::HttpResponse>,
) -> LlmError {
    let text = DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => LlmError::Transient(text),
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            if transient_code(se.err().code()) || status >= 500 || status == 429 {
                LlmError::Transient(text)
            } else {
                LlmError::Permanent(text)
            }
        }
        _ => LlmError::Permanent(text),
    }
}

/// Bedrock wants turns that alternate and open with the user: runs of one role
/// are joined, and a leading answer is dropped.
fn alternating(turns: &[(Role, String)]) -> Vec<(Role, String)> {
    let mut out: Vec<(Role, String)> = Vec::new();
    for (role, text) in turns {
        if out.is_empty() && *role == Role::Assistant {
            continue;
        }
        match out.last_mut() {
            Some((last, prev)) if last == role => {
                prev.push_str("\n\n");
                prev.push_str(text);
            }
            _ => out.push((*role, text.clone())),
        }
    }
    out
}

#[async_trait]
impl ChatModel for BedrockLlm {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn stream(&self, c: &Conversation) -> Result<TextStream, LlmError> {
        let mut messages = Vec::new();
        for (role, text) in alternating(&c.turns) {
            let role = match role {
                Role::User => ConversationRole::User,
                Role::Assistant => ConversationRole::Assistant,
            };
            messages.push(
                Message::builder()
                    .role(role)
                    .content(ContentBlock::Text(text))
                    .build()
                    .map_err(|e| LlmError::Permanent(e.to_string()))?,
            );
        }
        let deadline = tokio::time::Instant::now() + c.timeout;
        let call = self
            .client
            .converse_stream()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(c.system.clone()))
            .set_messages(Some(messages))
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(c.max_tokens.min(i32::MAX as u32) as i32)
                    .temperature(0.4)
                    .build(),
            )
            .send();
        let out = tokio::time::timeout_at(deadline, call)
            .await
            .map_err(|_| LlmError::Transient(format!("no answer within {:?}", c.timeout)))?
            .map_err(classify_stream_start)?;
        let receiver = out.stream;
        // One piece per text delta; other events (start, stop, usage) are skipped.
        let pieces = futures::stream::unfold(Some(receiver), move |state| async move {
            let mut receiver = state?;
            loop {
                let next = match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Err(_) => {
                        return Some((Err(LlmError::Transient("the answer stalled".into())), None))
                    }
                    Ok(next) => next,
                };
                match next {
                    Ok(Some(ConverseStreamOutput::ContentBlockDelta(ev))) => {
                        if let Some(ContentBlockDelta::Text(t)) = ev.delta {
                            if !t.is_empty() {
                                return Some((Ok(t), Some(receiver)));
                            }
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(e) => {
                        let code = match &e {
                            SdkError::ServiceError(se) => se.err().code().map(str::to_string),
                            _ => None,
                        };
                        let text = DisplayErrorContext(&e).to_string();
                        let err = if transient_code(code.as_deref())
                            || matches!(
                                e,
                                SdkError::TimeoutError(_)
                                    | SdkError::DispatchFailure(_)
                                    | SdkError::ResponseError(_)
                            ) {
                            LlmError::Transient(text)
                        } else {
                            LlmError::Permanent(text)
                        };
                        return Some((Err(err), None));
                    }
                }
            }
        });
        Ok(Box::pin(pieces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_alternate_from_the_user() {
        let t = |r, s: &str| (r, s.to_string());
        let got = alternating(&[
            t(Role::Assistant, "hello"),
            t(Role::User, "a"),
            t(Role::User, "b"),
            t(Role::Assistant, "c"),
            t(Role::User, "d"),
        ]);
        assert_eq!(
            got,
            vec![
                t(Role::User, "a\n\nb"),
                t(Role::Assistant, "c"),
                t(Role::User, "d")
            ]
        );
    }
}

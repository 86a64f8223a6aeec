//! The language model on Amazon Bedrock through the Converse API. Retries are the
//! drafter's (with jitter and a circuit breaker), so the SDK's own are turned off;
//! throttling, 5xx, model timeouts and transport failures are transient, anything
//! else (a refused request, an answer without text) is permanent.

use crate::ports::llm::{Completion, Llm, LlmError, Prompt};
use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message,
    SystemContentBlock,
};
use aws_sdk_bedrockruntime::Client;

#[derive(Clone)]
pub struct BedrockLlm {
    client: Client,
    model_id: String,
}

impl BedrockLlm {
    pub fn new(sdk: &aws_config::SdkConfig, model_id: &str) -> Self {
        let conf = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled())
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

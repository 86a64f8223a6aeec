//! Lambda entry point for the chat WebSocket API ($connect, $disconnect, $default):
//! configuration (refusing to start without a signing secret and an admin), AWS
//! adapters, a Bedrock model when `BEDROCK_MODEL_ID` names one, then the shared
//! chat socket. Frames are pushed through `@connections` of the API the event came
//! from (or `CHAT_CALLBACK_URL`).

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{service_fn, LambdaEvent};
use shared::adapters::aws::{self, ApiGatewayPush};
use shared::app::auth::{AuthConfig, Authenticator};
use shared::app::chat_socket::{ChatSocket, RateLimit};
use shared::app::Deps;
use shared::config::AwsResources;
use shared::ports::push::Push;
use shared::ports::SystemClock;
use std::sync::{Arc, OnceLock};

// Lambda hands a function one event at a time, so worker threads would only
// add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let resources = AwsResources::from_env()?;
    let auth = AuthConfig::from_env()?;
    let callback = std::env::var("CHAT_CALLBACK_URL").ok();
    let sdk = aws::sdk_config().await;
    let deps = Deps::new(aws::connect_core(&sdk, &resources), Arc::new(SystemClock));
    let chat = shared::lambda::chat_service(&sdk, deps.clone())?;
    let auth = Arc::new(Authenticator::new(auth, deps));
    let push: OnceLock<Arc<dyn Push>> = OnceLock::new();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let url = shared::lambda::callback_url(&event.payload, callback.clone());
            let push = url.map(|u| {
                push.get_or_init(|| Arc::new(ApiGatewayPush::new(&sdk, &u)))
                    .clone()
            });
            let (chat, auth) = (chat.clone(), auth.clone());
            async move {
                let push = push.ok_or("the event names no API endpoint to push to")?;
                let socket = ChatSocket::new(chat, auth, push, RateLimit::default());
                Ok::<_, lambda_runtime::Error>(
                    shared::lambda::websocket(&socket, event.payload).await,
                )
            }
        },
    ))
    .await
}

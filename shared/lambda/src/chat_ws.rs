//! `chat-ws`, behind the WebSocket API: `$connect` (the admin JWT from `?token=`),
//! `$disconnect` and `$default` (chat frames). Frames are pushed through
//! `@connections` of the API the event came from, or `CHAT_CALLBACK_URL`.

use crate::{events, root};
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use backend_aws::ApiGatewayPush;
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::auth::Authenticator;
use backend_core::app::chat::ChatService;
use backend_core::app::chat_socket::{ChatSocket, RateLimit};
use backend_core::ports::push::Push;
use lambda_runtime::{Error, LambdaEvent};
use std::sync::{Arc, OnceLock};

pub const NEEDS: &[Part] = &[Part::Aws, Part::Auth];

/// What every invocation shares; the push client is built for the first event's API.
pub struct ChatWs {
    sdk: backend_aws::SdkConfig,
    chat: ChatService,
    auth: Arc<Authenticator>,
    callback: Option<String>,
    push: OnceLock<Arc<dyn Push>>,
}

/// Builds the function's services on `sdk` (in Lambda, the one `start` reads from the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &backend_aws::SdkConfig,
    settings: Settings,
) -> Result<ChatWs, ConfigError> {
    let deps = root::deps(backend_aws::connect_core(sdk, root::resources(&settings)?));
    let chat = root::chat_service(sdk, deps.clone(), &settings);
    let auth = settings
        .auth
        .clone()
        .ok_or_else(|| ConfigError::missing(&["JWT_SECRET", "ADMIN_USERS"]))?;
    Ok(ChatWs {
        sdk: sdk.clone(),
        chat,
        auth: Arc::new(Authenticator::new(auth, deps)),
        callback: settings.chat_callback_url,
        push: OnceLock::new(),
    })
}

pub async fn handler(
    ws: &ChatWs,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let url = events::callback_url(&event.payload, ws.callback.clone())
        .ok_or("the event names no API endpoint to push to")?;
    let push = ws
        .push
        .get_or_init(|| Arc::new(ApiGatewayPush::new(&ws.sdk, &url)))
        .clone();
    let socket = ChatSocket::new(ws.chat.clone(), ws.auth.clone(), push, RateLimit::default());
    Ok(events::websocket(&socket, event.payload).await)
}

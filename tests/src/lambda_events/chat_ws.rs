//! The `events/chat-ws` files: what each must make chat-ws do.

use super::*;

/// The connection id the `events/chat-ws` files carry.
pub const CHAT_CONNECTION: &str = "Xk1abcDEFgoCJQ=";

/// The Bedrock model the chat-ws run names, answered by the Bedrock stub.
pub const CHAT_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// Every chat-ws event, in the order the scenario in `ChatWs::check` sends them, and
/// the status each answers (a frame's outcome is pushed; the checks follow the
/// pushes).
pub const CHAT_WS: &[(&str, i64)] = &[
    ("connect-no-token.json", 401),
    ("connect-bad-token.json", 401),
    ("connect.json", 200),
    ("heartbeat.json", 200),
    ("message.json", 200),
    ("message-invalid.json", 200),
    ("malformed-frame.json", 200),
    ("disconnect.json", 200),
];

/// A token signed as the functions' test configuration signs them.
pub async fn admin_token() -> String {
    use backend_core::app::auth::Authenticator;
    let deps = backend_core::app::Deps::new(embedded_adapters(), Arc::new(SystemClock));
    let auth = Authenticator::new(auth_config(), deps);
    auth.login(ADMIN_USER, ADMIN_PASSWORD, "tests")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .token
}

/// Every route: refused and accepted `$connect`s, frames answered through
/// `@connections` (streamed from the Bedrock stub), `$disconnect`, and a client that
/// vanished (410 Gone) forgotten.
pub struct ChatWs {
    pub res: AwsResources,
    pub connections: connections_stub::Stub,
    pub bedrock: bedrock_stub::Stub,
    pub token: String,
    secret_env: Vec<(&'static str, String)>,
}

impl ChatWs {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
            connections: connections_stub::Stub::start().await,
            bedrock: bedrock_stub::start(bedrock_stub::Mode::Ok).await,
            token: admin_token().await,
            secret_env: auth_secret_env().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.extend(self.secret_env.clone());
        env.push(("CHAT_CALLBACK_URL", self.connections.callback_url.clone()));
        env.push(("BEDROCK_MODEL_ID", CHAT_MODEL.into()));
        env.push((
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
            self.bedrock.endpoint.clone(),
        ));
        env
    }

    pub async fn check(&self, f: &dyn Invoke) {
        use bedrock_stub::STREAM_PIECES;
        assert_table_matches("chat-ws", CHAT_WS.iter().map(|c| c.0));
        let status = |file: &str| {
            CHAT_WS
                .iter()
                .find(|c| c.0 == file)
                .unwrap_or_else(|| panic!("{file} is not in CHAT_WS"))
                .1
        };
        let invoke = |file: &'static str| {
            let e = event_with_token(&format!("chat-ws/{file}"), &self.token);
            async move {
                let out = f.invoke(&e).await;
                let got = out["statusCode"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{file}: {out}\n{}", f.log()));
                assert_eq!(got, status(file), "{file}\n{}", f.log());
            }
        };
        let connections = &self.connections;
        let store = backend_aws::connect_with(&sdk_config().await, &self.res).store;
        let stored = || {
            let store = store.clone();
            async move {
                store
                    .get(&format!("CONN#{CHAT_CONNECTION}"), "CONN")
                    .await
                    .unwrap()
                    .is_some()
            }
        };

        // Refused before anything is stored.
        invoke("connect-no-token.json").await;
        invoke("connect-bad-token.json").await;
        assert!(!stored().await);
        invoke("connect.json").await;
        assert!(stored().await, "the connection is remembered");
        connections.open(CHAT_CONNECTION);

        invoke("heartbeat.json").await;
        let frames = connections.frames(CHAT_CONNECTION);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "heartbeat");
        connections.clear(CHAT_CONNECTION);

        invoke("message.json").await;
        let frames = connections.frames(CHAT_CONNECTION);
        let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["ack", "chunk", "chunk", "chunk", "chunk", "message"],
            "{frames:?}\n{}",
            f.log()
        );
        assert_eq!(frames[0]["message_id"], "client-msg-1");
        let session = frames[0]["session_id"].as_str().unwrap().to_string();
        let chunks: Vec<&str> = frames[1..5]
            .iter()
            .map(|f| f["content"].as_str().unwrap())
            .collect();
        assert_eq!(chunks, STREAM_PIECES, "Bedrock's deltas, in order");
        assert_eq!(frames[5]["content"], STREAM_PIECES.concat());
        assert_eq!(frames[5]["metadata"]["generated_by"], CHAT_MODEL);
        assert_eq!(frames[5]["session_id"], session.as_str());
        let messages = store
            .query(
                &backend_core::ports::Query::table(format!("CHAT#{session}"))
                    .range(backend_core::ports::SkRange::Prefix("MSG#".into())),
            )
            .await
            .unwrap();
        assert_eq!(messages.items.len(), 2, "both messages stored in DynamoDB");
        connections.clear(CHAT_CONNECTION);

        for (file, code) in [
            ("message-invalid.json", "VALIDATION_ERROR"),
            ("malformed-frame.json", "INVALID_FRAME"),
        ] {
            invoke(file).await;
            let frames = connections.frames(CHAT_CONNECTION);
            assert_eq!(frames.len(), 1, "{file}: {frames:?}");
            assert_eq!(frames[0]["type"], "error");
            assert_eq!(frames[0]["metadata"]["code"], code, "{file}");
            connections.clear(CHAT_CONNECTION);
        }

        invoke("disconnect.json").await;
        assert!(!stored().await, "$disconnect forgets the connection");

        // A client that vanished without a $disconnect: the 410 removes it.
        invoke("connect.json").await;
        connections.close(CHAT_CONNECTION);
        invoke("message.json").await;
        assert!(!stored().await, "a 410 Gone forgets the connection");
    }
}

//! A WebSocket client for the dev server's chat socket.

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Client {
    socket: Socket,
}

/// One answer as the socket delivered it.
#[derive(Debug)]
pub struct Answer {
    pub ack: Value,
    pub chunks: Vec<Value>,
    /// The `message` frame, or the `error` frame that ended the turn.
    pub last: Value,
}

impl Answer {
    /// The session the server put the question in, from its `ack`.
    pub fn session(&self) -> String {
        self.ack["session_id"].as_str().unwrap().to_string()
    }

    /// The whole answer, from the final `message` frame.
    pub fn text(&self) -> &str {
        self.last["content"].as_str().unwrap()
    }

    pub fn streamed_text(&self) -> String {
        self.chunks
            .iter()
            .map(|c| c["content"].as_str().unwrap_or_default())
            .collect()
    }
}

/// The chat socket's URL on a dev server at `base` (`http://…`).
pub fn url(base: &str, token: Option<&str>) -> String {
    let ws = base.replacen("http://", "ws://", 1);
    match token {
        Some(t) => format!("{ws}/api/v1/admin/chat/ws?token={t}"),
        None => format!("{ws}/api/v1/admin/chat/ws"),
    }
}

/// Opens the socket, or answers the HTTP status and body of the refusal.
pub async fn connect(base: &str, token: Option<&str>) -> Result<Client, (u16, Value)> {
    match tokio_tungstenite::connect_async(url(base, token)).await {
        Ok((socket, _)) => Ok(Client { socket }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("chat socket did not answer: {e}"),
    }
}

impl Client {
    pub async fn send(&mut self, frame: &Value) {
        self.send_text(&frame.to_string()).await
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("frame sent");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.socket
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("frame sent");
    }

    /// The next text frame, as JSON; fails the test after 10 s of silence.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a frame within 10 s")
                .expect("socket open")
                .expect("frame readable");
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON frame"),
                Message::Close(c) => panic!("socket closed: {c:?}"),
                _ => continue,
            }
        }
    }

    /// Sends a question and reads the ack, the chunks and the final frame.
    pub async fn ask(&mut self, frame: &Value) -> Answer {
        self.send(frame).await;
        let ack = self.next().await;
        if ack["type"] == "error" {
            return Answer {
                ack: Value::Null,
                chunks: vec![],
                last: ack,
            };
        }
        assert_eq!(ack["type"], "ack", "{ack}");
        let mut chunks = Vec::new();
        loop {
            let f = self.next().await;
            match f["type"].as_str() {
                Some("chunk") => chunks.push(f),
                _ => {
                    return Answer {
                        ack,
                        chunks,
                        last: f,
                    }
                }
            }
        }
    }

    /// Reads past any text frames to the server's close frame and answers its code
    /// and reason (`None` when the socket ended without one, which a client sees as
    /// 1005); fails the test after 10 s.
    pub async fn close_frame(&mut self) -> Option<(u16, String)> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("the socket closes within 10 s");
            match msg {
                Some(Ok(Message::Close(Some(c)))) => {
                    return Some((u16::from(c.code), c.reason.as_str().to_string()))
                }
                Some(Ok(Message::Close(None))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

//! The dev server's HTTP listener. `axum::serve` gives hyper no timer, so a client
//! that never finishes its headers holds its connection for ever; here each
//! connection is served by hyper's HTTP/1 with a header-read timeout, every request
//! has a time limit answered in the envelope, handlers see the peer's address (the
//! per-client sign-in limit keys on it), and a stop lets requests in flight finish.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use backend_core::app::ErrorCode;
use backend_http::ApiError;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long a client may take over a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For the headers of a request to arrive.
    pub header_read: Duration,
    /// From the end of the headers to the answer, the body included.
    pub request: Duration,
}

/// Serves `app` on `listener` until `stop` turns true, then waits for the requests
/// in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let app = app.layer(axum::middleware::from_fn_with_state(
        limits.request,
        time_limit,
    ));
    // Each connection holds a receiver; the sender sees them all dropped once the
    // last connection has ended.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors, usually: wait instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_read);
            let conn = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            // Its own future, so the watch's guard is gone before the await below.
            let stopping = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopping => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(open_rx);
    open_tx.closed().await;
}

/// Answers 408 in the envelope when a request takes longer than `limit`, and
/// closes the connection: a body that stopped halfway cannot be read past.
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            let mut resp = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "The request took too long to arrive or to answer; send it again",
            )
            .into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            backend_http::no_sniff(resp).await
        }
    }
}

//! Serving a router from Lambda: API Gateway events become `http` requests through
//! `lambda_http`, with the invocation's request id as the request id.

use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    let svc = tower::ServiceBuilder::new()
        .map_request(|mut req: Request| {
            let id = req.lambda_context_ref().map(|c| c.request_id.clone());
            if let Some(v) = id.and_then(|id| http::HeaderValue::from_str(&id).ok()) {
                req.headers_mut()
                    .insert(backend_http::context::REQUEST_ID, v);
            }
            let source_ip = match req.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
                Some(RequestContext::ApiGatewayV1(c)) => c.identity.source_ip.clone(),
                _ => None,
            };
            if let Some(ip) = source_ip {
                req.extensions_mut()
                    .insert(backend_http::context::ClientIp(ip));
            }
            req
        })
        .service(router);
    lambda_http::run(svc).await
}

//! The smallest useful `lambda_http` function: the yardstick the functions' cold
//! starts are measured against in BENCHMARKS.md.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}

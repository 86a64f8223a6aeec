//! The same hello on the single-threaded runtime the functions use: the second
//! yardstick in BENCHMARKS.md, so the runtime's own saving is not counted as the
//! functions' merit.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}

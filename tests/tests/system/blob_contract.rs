//! The blob-store contract: a folder and S3 on moto keep bytes and content type
//! alike, overwrite on a second put, and refuse keys that could escape a folder.

use backend_core::ports::blob::{Blob, BlobError, BlobStore};
use std::sync::Arc;

type Blobs = Arc<dyn BlobStore>;

fn blob(text: &str, ct: &str) -> Blob {
    Blob {
        bytes: text.as_bytes().to_vec(),
        content_type: ct.into(),
    }
}

async fn round_trip_and_overwrite(b: Blobs) {
    assert_eq!(b.get("reports/inq_x/a.md").await.unwrap(), None);
    b.put(
        "reports/inq_x/a.md",
        blob("# one", "text/markdown; charset=utf-8"),
    )
    .await
    .unwrap();
    assert_eq!(
        b.get("reports/inq_x/a.md").await.unwrap(),
        Some(blob("# one", "text/markdown; charset=utf-8"))
    );
    b.put(
        "reports/inq_x/a.md",
        blob("# two ü", "text/markdown; charset=utf-8"),
    )
    .await
    .unwrap();
    assert_eq!(
        b.get("reports/inq_x/a.md").await.unwrap().unwrap().bytes,
        "# two ü".as_bytes()
    );
    let big = "x".repeat(300_000);
    b.put("reports/big.html", blob(&big, "text/html"))
        .await
        .unwrap();
    assert_eq!(
        b.get("reports/big.html")
            .await
            .unwrap()
            .unwrap()
            .bytes
            .len(),
        300_000
    );
}

async fn unsafe_keys_are_refused(b: Blobs) {
    for key in [
        "",
        "/abs",
        "../up",
        "a/../../b",
        "a//b",
        "a/./b",
        "spa ce",
        "a\\b",
    ] {
        assert!(
            matches!(
                b.put(key, blob("x", "text/plain")).await,
                Err(BlobError::InvalidKey(_))
            ),
            "{key:?}"
        );
        assert!(
            matches!(b.get(key).await, Err(BlobError::InvalidKey(_))),
            "{key:?}"
        );
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod folder {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::embedded_adapters().blobs.unwrap()).await; })*
        }
        mod s3 {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::aws_adapters().await.blobs.unwrap()).await; })*
        }
        mod s3_client_on_first_use {
            $(#[tokio::test] async fn $case() {
                let adapters = backend_aws::connect_files_on_use(
                    &system_tests::sdk_config().await,
                    &system_tests::aws_resources().await,
                );
                super::$case(adapters.blobs.unwrap()).await;
            })*
        }
    };
}

contract!(round_trip_and_overwrite, unsafe_keys_are_refused);

//! The blob-store contract: a folder and S3 on moto (a bucket that keeps versions,
//! as the stack's does) keep bytes and content type alike, overwrite on a second
//! put, remove a folder with every version of its files, and refuse keys that could
//! escape a folder.

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
    // Whatever the type, it comes back as put, also after an overwrite under
    // another type and back.
    for ct in [
        "text/plain",
        "text/markdown; charset=utf-8",
        "application/json",
    ] {
        b.put("reports/inq_x/b.md", blob("{}", ct)).await.unwrap();
        let got = b.get("reports/inq_x/b.md").await.unwrap().unwrap();
        assert_eq!(got.content_type, ct);
    }
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

async fn a_folder_is_removed_with_every_version(b: Blobs) {
    let folder = format!(
        "reports/inq_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    for (name, text) in [("a.md", "one"), ("a.md", "two"), ("b.html", "three")] {
        b.put(&format!("{folder}/{name}"), blob(text, "text/plain"))
            .await
            .unwrap();
    }
    b.put(&format!("{folder}-other/c.md"), blob("kept", "text/plain"))
        .await
        .unwrap();
    assert_eq!(b.delete_folder(&folder).await.unwrap(), 2, "two files");
    for name in ["a.md", "b.html"] {
        assert_eq!(b.get(&format!("{folder}/{name}")).await.unwrap(), None);
    }
    assert_eq!(b.delete_folder(&folder).await.unwrap(), 0, "gone for good");
    assert!(
        b.get(&format!("{folder}-other/c.md"))
            .await
            .unwrap()
            .is_some(),
        "a folder whose name starts alike is another folder"
    );
    assert!(matches!(
        b.delete_folder("../up").await,
        Err(BlobError::InvalidKey(_))
    ));
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

contract!(
    round_trip_and_overwrite,
    unsafe_keys_are_refused,
    a_folder_is_removed_with_every_version
);

//! Blobs in an S3 bucket (server-side encryption is the bucket's default, set in
//! `template.yaml`).

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::{Client, Config};
use backend_core::ports::blob::{check_key, Blob, BlobError, BlobStore};
use std::sync::OnceLock;

pub struct S3Blobs {
    conf: Config,
    client: OnceLock<Client>,
    bucket: String,
}

impl S3Blobs {
    /// Builds its client now.
    pub fn new(conf: Config, bucket: &str) -> Self {
        let blobs = Self::on_first_use(conf, bucket);
        blobs.client();
        blobs
    }

    /// The client is built by the first call that needs it. For a process where
    /// only some requests touch files (the admin API's report downloads), the others,
    /// and its cold start, do not pay for building it.
    pub fn on_first_use(conf: Config, bucket: &str) -> Self {
        Self {
            conf,
            client: OnceLock::new(),
            bucket: bucket.to_string(),
        }
    }

    fn client(&self) -> &Client {
        self.client
            .get_or_init(|| Client::from_conf(self.conf.clone()))
    }
}

fn unavailable<E: std::error::Error>(e: E) -> BlobError {
    BlobError::Unavailable(DisplayErrorContext(e).to_string())
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, blob: Blob) -> Result<(), BlobError> {
        check_key(key)?;
        self.client()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&blob.content_type)
            .body(ByteStream::from(blob.bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn delete_folder(&self, prefix: &str) -> Result<usize, BlobError> {
        check_key(prefix)?;
        let folder = format!("{prefix}/");
        let mut blobs = std::collections::BTreeSet::new();
        // The bucket keeps versions: each one, and each delete marker, is removed by
        // its version id, or the file would live on as a noncurrent version.
        loop {
            let page = self
                .client()
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&folder)
                .max_keys(1000)
                .send()
                .await
                .map_err(unavailable)?;
            let mut doomed = Vec::new();
            for v in page.versions() {
                if let Some(key) = v.key() {
                    blobs.insert(key.to_string());
                    doomed.push((key.to_string(), v.version_id().map(str::to_string)));
                }
            }
            for m in page.delete_markers() {
                if let Some(key) = m.key() {
                    doomed.push((key.to_string(), m.version_id().map(str::to_string)));
                }
            }
            if doomed.is_empty() {
                return Ok(blobs.len());
            }
            let objects = doomed
                .into_iter()
                .map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version)
                        .build()
                        .map_err(unavailable)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client()
                .delete_objects()
                .bucket(&self.bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(unavailable)?,
                )
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(e) = out.errors().first() {
                return Err(BlobError::Unavailable(format!(
                    "{} could not be deleted: {}",
                    e.key().unwrap_or("a file"),
                    e.message().unwrap_or("no reason given")
                )));
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        check_key(key)?;
        let out = match self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                return match e.into_service_error() {
                    e if e.is_no_such_key() => Ok(None),
                    e => Err(unavailable(e)),
                }
            }
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(unavailable)?
            .into_bytes()
            .to_vec();
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }
}

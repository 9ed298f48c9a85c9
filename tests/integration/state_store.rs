//! The state-store conformance cases (`testkit::state`) on every store:
//! the local directory, the in-memory reference, and S3 against moto
//! (`scripts/with-moto`), each case on a fresh directory or bucket.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_s3::config::{Credentials, Region};
use hubforge::aws::{AwsBuilder, AwsProvider, S3StateStore, StaticCredentials};
use provider_core::state::{
    DirectoryObjects, LocalStateStore, MemoryObjects, ObjectBacked, ObjectStateStore,
};
use testkit::state::{ObjectSubject, StateSubject};

const REGION: &str = "us-west-2";

fn next() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A directory no other case uses, removed when the case is done.
fn scratch() -> (PathBuf, impl FnOnce() + Send + 'static) {
    let dir = std::env::temp_dir().join(format!(
        "hubforge-state-store-{}-{}",
        std::process::id(),
        next()
    ));
    let remove = {
        let dir = dir.clone();
        move || {
            let _ = std::fs::remove_dir_all(dir);
        }
    };
    (dir, remove)
}

fn local() -> StateSubject {
    let (dir, remove) = scratch();
    StateSubject::new(
        Arc::new(LocalStateStore::new(&dir)),
        Arc::new(LocalStateStore::new(&dir)),
    )
    .with_cleanup(remove)
}

fn directory() -> ObjectSubject {
    let (dir, remove) = scratch();
    ObjectSubject::new(Arc::new(DirectoryObjects::new(dir))).with_cleanup(remove)
}

fn memory() -> StateSubject {
    let objects = Arc::new(MemoryObjects::new());
    StateSubject::new(
        Arc::new(ObjectStateStore::new(objects.clone(), "team")),
        Arc::new(ObjectStateStore::new(objects, "team/")),
    )
}

fn moto() -> String {
    std::env::var("HUBFORGE_MOTO_ENDPOINT").expect(
        "the S3 state tests need moto: run them through scripts/with-moto (scripts/test-all does)",
    )
}

async fn aws() -> AwsProvider {
    AwsBuilder::new()
        .region(REGION)
        .endpoint_url(moto())
        .credentials(StaticCredentials::new("test", "test"))
        .emulator(true)
        .build()
        .await
        .expect("provider")
}

/// A new, empty bucket, made with the SDK directly.
async fn bucket() -> String {
    let name = format!("hubforge-state-store-{}-{}", std::process::id(), next());
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new(REGION))
        .endpoint_url(moto())
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .force_path_style(true)
        .build();
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    aws_sdk_s3::Client::from_conf(config)
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(location)
        .send()
        .await
        .expect("create the case's bucket");
    name
}

/// Two stores on one new bucket, from two providers (two processes).
async fn s3() -> StateSubject {
    let bucket = bucket().await;
    StateSubject::new(
        Arc::new(S3StateStore::new(&aws().await, &bucket, "team")),
        Arc::new(S3StateStore::new(&aws().await, &bucket, "team/")),
    )
}

async fn s3_objects() -> ObjectSubject {
    let store = S3StateStore::new(&aws().await, bucket().await, "");
    ObjectSubject::new(store.object_state_store().objects().clone())
}

mod on_local {
    testkit::state_store_suite!(super::local());
}

mod on_memory {
    testkit::state_store_suite!(super::memory());
}

mod on_s3 {
    testkit::state_store_suite!(super::s3().await);
}

mod objects_in_memory {
    testkit::object_store_suite!(testkit::state::ObjectSubject::new(std::sync::Arc::new(
        provider_core::state::MemoryObjects::new()
    )));
}

mod objects_in_a_directory {
    testkit::object_store_suite!(super::directory());
}

mod objects_in_s3 {
    testkit::object_store_suite!(super::s3_objects().await);
}

//! The object-store publish protocol on real emulators: S3 on moto, Azure on Azurite, both
//! started by the test on 127.0.0.1 (installed by `.ci/run`; missing, the test fails with
//! the command that installs them).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use hygge_object_test_servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto};
use hygge_runtime::cloud::{CloudConnection, ObjectUrl};
use hygge_runtime::contract::{ErrorKind, RunType};
use hygge_runtime::publish::objects::{Commit, ObjectDestination, ObjectStaging};
use object_store::ObjectStoreExt;
use object_store::path::Path;

const RUN_1: &str = "20261130T100000Z-000001";
const RUN_2: &str = "20261130T110000Z-000002";
const RUN_3: &str = "20261130T120000Z-000003";

fn open(connection: &CloudConnection, url: &str) -> ObjectDestination {
    let url = ObjectUrl::parse(url).unwrap().unwrap();
    let store = connection.open(&url).unwrap();
    ObjectDestination::new(store, url.prefix.clone(), url.place())
}

fn s3(moto: &Moto) -> CloudConnection {
    CloudConnection {
        kind: Some("s3".into()),
        region: Some("us-east-1".into()),
        endpoint: Some(moto.endpoint()),
        access_key_id: Some("hygge".into()),
        secret_access_key: Some("hygge-secret".into()),
        allow_http: Some(true),
        ..CloudConnection::default()
    }
}

fn azure(azurite: &Azurite, key: &str) -> CloudConnection {
    CloudConnection {
        kind: Some("azure".into()),
        account: Some(AZURITE_ACCOUNT.into()),
        access_key: Some(key.into()),
        endpoint: Some(azurite.endpoint()),
        allow_http: Some(true),
        ..CloudConnection::default()
    }
}

async fn upload(staging: &mut ObjectStaging, relative: &str, content: &'static str) {
    let path = staging.staged_path(relative).unwrap();
    staging
        .destination()
        .store()
        .put(&path, content.into())
        .await
        .unwrap();
    staging.add_file(relative, 1, content.len() as u64, None);
}

/// The files a plain listing of the destination shows, hygge's hidden folder aside.
async fn listed(destination: &ObjectDestination) -> BTreeSet<String> {
    let root = format!("{}/", destination.root());
    destination
        .list(destination.root())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.location.as_ref()[root.len()..].to_string())
        .filter(|p| !p.starts_with("_hygge/"))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Full drop, incremental, two runs racing, and the conditional write itself, on one
/// destination of a real store.
async fn the_protocol_holds(dest: ObjectDestination) {
    let mut first = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
        .await
        .unwrap();
    upload(&mut first, "part-1.parquet", "one").await;
    upload(&mut first, "year=2026/part-2.parquet", "two").await;
    assert!(listed(&dest).await.is_empty(), "staged files are hidden");
    first.commit(None, None).await.unwrap();
    assert_eq!(
        listed(&dest).await,
        set(&["part-1.parquet", "year=2026/part-2.parquet"])
    );

    let mut more = ObjectStaging::open(dest.clone(), RUN_2, RunType::Incremental)
        .await
        .unwrap();
    upload(&mut more, "part-3.parquet", "three").await;
    more.commit(None, None).await.unwrap();
    assert_eq!(listed(&dest).await.len(), 3);

    // Two runs open on version 2; the first to commit wins, the other leaves nothing.
    let mut a = ObjectStaging::open(dest.clone(), RUN_3, RunType::FullDrop)
        .await
        .unwrap();
    let mut b = ObjectStaging::open(dest.clone(), "20261130T120000Z-00000b", RunType::FullDrop)
        .await
        .unwrap();
    upload(&mut a, "a.parquet", "aa").await;
    upload(&mut b, "b.parquet", "bb").await;
    a.commit(None, None).await.unwrap();
    let lost = b.commit(None, None).await.unwrap_err();
    assert_eq!(lost.kind(), ErrorKind::Config, "{lost}");
    assert!(lost.message().contains("another run published"), "{lost}");
    assert_eq!(listed(&dest).await, set(&["a.parquet"]));
    let staging = dest.root().clone().join("_hygge").join("staging");
    assert!(
        dest.list(&staging).await.unwrap().is_empty(),
        "the loser left files"
    );

    // The store's own conditional create refuses a version that exists.
    let log = dest.log();
    let newest = log.latest().await.unwrap().unwrap();
    assert_eq!(newest.version, 3);
    let again = Commit {
        run_id: "20261130T130000Z-000004".into(),
        ..newest.clone()
    };
    assert!(!log.create(&again).await.unwrap());
    assert_eq!(log.latest().await.unwrap(), Some(newest));
}

#[tokio::test]
async fn the_publish_protocol_holds_on_s3() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    the_protocol_holds(open(&s3(&moto), "s3://lake/raw/orders")).await;
}

#[tokio::test]
async fn the_publish_protocol_holds_on_azure() {
    let azurite = Azurite::start().unwrap();
    azurite.create_container("data").unwrap();
    the_protocol_holds(open(&azure(&azurite, AZURITE_KEY), "az://data/raw/orders")).await;
}

#[tokio::test]
async fn a_missing_bucket_and_refused_credentials_are_named() {
    let moto = Moto::start().unwrap();
    let missing = open(&s3(&moto), "s3://no-such-bucket/raw");
    let error = ObjectStaging::open(missing, RUN_1, RunType::FullDrop)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    assert!(
        error.to_string().contains("s3://no-such-bucket/raw"),
        "{error}"
    );

    let azurite = Azurite::start().unwrap();
    azurite.create_container("data").unwrap();
    // A valid base64 key that is not the account's.
    let wrong = "aGVsbG8taHlnZ2UtdGhpcy1pcy1ub3QtdGhlLWtleQ==";
    let refused = open(&azure(&azurite, wrong), "az://data/raw");
    let error = ObjectStaging::open(refused, RUN_1, RunType::FullDrop)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth, "{error}");
    assert!(error.to_string().contains("az://data/raw"), "{error}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_connection_error_after_retries() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let connection = CloudConnection {
        kind: Some("s3".into()),
        region: Some("us-east-1".into()),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        access_key_id: Some("hygge".into()),
        secret_access_key: Some("hygge-secret".into()),
        allow_http: Some(true),
        ..CloudConnection::default()
    };
    let dest = open(&connection, "s3://lake/raw");
    let error = ObjectStaging::open(dest, RUN_1, RunType::FullDrop)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
    assert!(error.to_string().contains("s3://lake/raw"), "{error}");
}

#[tokio::test]
async fn a_reader_sees_no_staged_file_on_s3() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let dest = open(&s3(&moto), "s3://lake/raw/orders");
    let mut run = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
        .await
        .unwrap();
    upload(&mut run, "part-1.parquet", "one").await;
    assert!(dest.committed_files().await.unwrap().is_none());
    run.abort().await.unwrap();
    let everything = dest.list(&Path::from("raw")).await.unwrap();
    assert!(everything.is_empty(), "{everything:?}");
}

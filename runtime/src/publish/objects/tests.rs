//! The commit protocol on an in-memory store and on local disk (object_store's own
//! implementations of conditional writes); the cloud stores run it in the connectors' tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::*;
use crate::contract::{ErrorKind, RunType};
use crate::state::{EntityState, StateStore, StateUpdate};

const RUN_1: &str = "20261130T100000Z-000001";
const RUN_2: &str = "20261130T110000Z-000002";
const RUN_3: &str = "20261130T120000Z-000003";

/// Each store the protocol runs on, with the folder a local one lives in.
fn stores() -> Vec<(Arc<dyn ObjectStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    vec![
        (Arc::new(InMemory::new()) as Arc<dyn ObjectStore>, None),
        (Arc::new(local) as Arc<dyn ObjectStore>, Some(dir)),
    ]
}

fn destination(store: &Arc<dyn ObjectStore>) -> ObjectDestination {
    ObjectDestination::new(
        store.clone(),
        Path::from("raw/orders"),
        "s3://lake/raw/orders",
    )
}

async fn upload(staging: &mut ObjectStaging, relative: &str, content: &'static str) {
    let path = staging.staged_path(relative).unwrap();
    staging
        .destination()
        .store()
        .put(&path, content.into())
        .await
        .unwrap();
    staging.add_file(
        relative,
        content.len() as u64 / 2,
        content.len() as u64,
        None,
    );
}

/// What a plain reader listing the destination sees, hygge's hidden folder aside.
async fn visible(destination: &ObjectDestination) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for meta in destination.list(destination.root()).await.unwrap() {
        let relative = meta.location.as_ref()["raw/orders/".len()..].to_string();
        if relative.starts_with("_hygge/") {
            continue;
        }
        let bytes = destination
            .store()
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        seen.insert(relative, String::from_utf8(bytes.to_vec()).unwrap());
    }
    seen
}

async fn staged_objects(destination: &ObjectDestination) -> usize {
    destination
        .list(&destination.root().clone().join(HYGGE_DIR).join("staging"))
        .await
        .unwrap()
        .len()
}

/// An incremental run `run_id` that stages `set` and commits the watermark `next` over
/// `previous`.
async fn publish(
    dest: &ObjectDestination,
    run_id: &str,
    set: &[(&str, &'static str)],
    previous: Option<EntityState>,
    next: &str,
) {
    let mut run = ObjectStaging::open(dest.clone(), run_id, RunType::Incremental)
        .await
        .unwrap();
    for (path, content) in set {
        upload(&mut run, path, content).await;
    }
    let update = StateUpdate {
        previous,
        next: state(next, run_id),
    };
    run.commit(Some(&update), None).await.unwrap();
}

fn state(watermark: &str, run_id: &str) -> EntityState {
    EntityState {
        flow: "shop".into(),
        entity: "orders".into(),
        column: "updated_at".into(),
        watermark: Some(watermark.into()),
        data_type: "Int64".into(),
        run_id: run_id.into(),
        committed_at: "2026-11-30T10:00:00Z".into(),
    }
}

fn files(set: &[(&str, &str)]) -> BTreeMap<String, String> {
    set.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_full_drop_replaces_the_set_and_leaves_only_committed_files() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut first = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut first, "part-1.parquet", "one").await;
        upload(&mut first, "year=2026/part-2.parquet", "two").await;
        assert!(visible(&dest).await.is_empty(), "staged files are hidden");
        assert_eq!(first.commit(None, None).await.unwrap(), 1);
        assert_eq!(
            visible(&dest).await,
            files(&[
                ("part-1.parquet", "one"),
                ("year=2026/part-2.parquet", "two")
            ])
        );

        let mut second = ObjectStaging::open(dest.clone(), RUN_2, RunType::FullDrop)
            .await
            .unwrap();
        assert_eq!(second.published_files().len(), 2);
        upload(&mut second, "part-3.parquet", "three").await;
        assert_eq!(second.commit(None, None).await.unwrap(), 2);
        assert_eq!(visible(&dest).await, files(&[("part-3.parquet", "three")]));
        assert_eq!(staged_objects(&dest).await, 0);
        let latest = dest.log().latest().await.unwrap().unwrap();
        assert_eq!(latest.run_id, RUN_2);
        assert_eq!(
            latest.removed,
            vec!["part-1.parquet", "year=2026/part-2.parquet"]
        );
        assert_eq!(latest.rows(), 2);
    }
}

#[tokio::test]
async fn an_incremental_run_adds_to_the_set_and_its_state_rides_in_the_commit() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        publish(&dest, RUN_1, &[("a.parquet", "aa")], None, "10").await;

        let previous = state("10", RUN_1);
        publish(&dest, RUN_2, &[("b.parquet", "bb")], Some(previous), "20").await;
        assert_eq!(
            visible(&dest).await,
            files(&[("a.parquet", "aa"), ("b.parquet", "bb")])
        );
        let states = ObjectState::new(dest.clone());
        assert_eq!(
            states.read("shop", "orders").await.unwrap(),
            Some(state("20", RUN_2))
        );

        // A run without a watermark carries the published one forward.
        let mut third = ObjectStaging::open(dest.clone(), RUN_3, RunType::Incremental)
            .await
            .unwrap();
        upload(&mut third, "c.parquet", "cc").await;
        third.commit(None, None).await.unwrap();
        assert_eq!(visible(&dest).await.len(), 3);
        assert_eq!(
            states.read("shop", "orders").await.unwrap(),
            Some(state("20", RUN_2))
        );
    }
}

#[tokio::test]
async fn a_moved_watermark_is_retried_and_leaves_the_destination_as_it_was() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        publish(&dest, RUN_1, &[("a.parquet", "aa")], None, "10").await;

        let mut stale = ObjectStaging::open(dest.clone(), RUN_2, RunType::Incremental)
            .await
            .unwrap();
        upload(&mut stale, "b.parquet", "bb").await;
        let update = StateUpdate {
            previous: None,
            next: state("20", RUN_2),
        };
        let error = stale.commit(Some(&update), None).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
        assert!(error.message().contains("watermark state"), "{error}");
        assert_eq!(visible(&dest).await, files(&[("a.parquet", "aa")]));
        assert_eq!(staged_objects(&dest).await, 0);
        assert_eq!(dest.log().latest().await.unwrap().unwrap().version, 1);
    }
}

#[tokio::test]
async fn two_runs_that_opened_on_one_version_cannot_both_publish() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut a = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
            .await
            .unwrap();
        let mut b = ObjectStaging::open(dest.clone(), RUN_2, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut a, "a.parquet", "aa").await;
        upload(&mut b, "b.parquet", "bb").await;
        a.commit(None, None).await.unwrap();
        let error = b.commit(None, None).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config, "{error}");
        assert!(
            error
                .message()
                .contains("another run published s3://lake/raw/orders")
                && error.message().contains(RUN_1),
            "{error}"
        );
        assert_eq!(visible(&dest).await, files(&[("a.parquet", "aa")]));
        assert_eq!(
            staged_objects(&dest).await,
            0,
            "the loser left files behind"
        );
    }
}

#[tokio::test]
async fn a_taken_version_is_refused_by_the_conditional_write() {
    for (store, _dir) in stores() {
        let log = destination(&store).log();
        let commit = Commit {
            version: 1,
            run_id: RUN_1.into(),
            run_type: RunType::FullDrop,
            committed_at: "2026-11-30T10:00:00Z".into(),
            files: Vec::new(),
            removed: Vec::new(),
            schema: None,
            state: None,
            delta: None,
        };
        assert!(log.create(&commit).await.unwrap());
        let other = Commit {
            run_id: RUN_2.into(),
            ..commit.clone()
        };
        assert!(!log.create(&other).await.unwrap());
        assert_eq!(log.latest().await.unwrap(), Some(commit));
    }
}

#[tokio::test]
async fn a_commit_a_crash_left_half_visible_is_read_whole_and_finished_by_the_next_run() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut first = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut first, "old.parquet", "old").await;
        first.commit(None, None).await.unwrap();

        // The run commits, copies one of its two files, and dies.
        let mut crashed = ObjectStaging::open(dest.clone(), RUN_2, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut crashed, "new-1.parquet", "n1").await;
        upload(&mut crashed, "new-2.parquet", "n2").await;
        let commit = crashed.prepare(None, None).await.unwrap();
        let staged = dest.staged(RUN_2, "new-1.parquet").unwrap();
        store
            .copy(&staged, &dest.visible("new-1.parquet").unwrap())
            .await
            .unwrap();
        store.delete(&staged).await.unwrap();
        drop(crashed);

        // hygge's home reads exactly the committed set, from wherever each file is now.
        let (read, paths) = dest.committed_files().await.unwrap().unwrap();
        assert_eq!(read, commit);
        let paths: Vec<String> = paths.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            paths,
            vec![
                "raw/orders/new-1.parquet".to_string(),
                format!("raw/orders/_hygge/staging/{RUN_2}/new-2.parquet"),
            ]
        );

        // The next run finishes it before anything else.
        let next = ObjectStaging::open(dest.clone(), RUN_3, RunType::FullDrop)
            .await
            .unwrap();
        assert_eq!(
            visible(&dest).await,
            files(&[("new-1.parquet", "n1"), ("new-2.parquet", "n2")])
        );
        assert_eq!(staged_objects(&dest).await, 0);
        next.abort().await.unwrap();
    }
}

#[tokio::test]
async fn staging_of_a_run_that_never_committed_is_removed_only_once_stale() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut dead =
            ObjectStaging::open(dest.clone(), "20261130T100000Z-dead00", RunType::FullDrop)
                .await
                .unwrap();
        upload(&mut dead, "x.parquet", "xx").await;
        drop(dead);

        let soon = ObjectStaging::open(dest.clone(), "20261201T095959Z-aaaaaa", RunType::FullDrop)
            .await
            .unwrap();
        assert_eq!(
            staged_objects(&dest).await,
            1,
            "a run a day old may still be running"
        );
        soon.abort().await.unwrap();
        assert!(dest.committed_files().await.unwrap().is_none());

        let later = ObjectStaging::open(dest.clone(), "20261201T100000Z-bbbbbb", RunType::FullDrop)
            .await
            .unwrap();
        assert_eq!(staged_objects(&dest).await, 0);
        later.abort().await.unwrap();
    }
}

#[tokio::test]
async fn an_abort_removes_the_staged_files_and_publishes_nothing() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut run = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut run, "a.parquet", "aa").await;
        run.abort().await.unwrap();
        assert_eq!(staged_objects(&dest).await, 0);
        assert!(visible(&dest).await.is_empty());
        assert!(dest.log().latest().await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_reset_commits_the_same_files_with_a_reset_marker() {
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let states = ObjectState::new(dest.clone());
        assert!(!states.reset("shop", "orders", RUN_2).await.unwrap());
        publish(&dest, RUN_1, &[("a.parquet", "aa")], None, "10").await;
        assert!(states.reset("shop", "orders", RUN_2).await.unwrap());
        let read = states.read("shop", "orders").await.unwrap().unwrap();
        assert!(read.is_reset() && read.run_id == RUN_2, "{read:?}");
        assert_eq!(visible(&dest).await, files(&[("a.parquet", "aa")]));
        assert!(!states.reset("shop", "orders", RUN_3).await.unwrap());
    }
}

#[tokio::test]
async fn old_log_entries_are_pruned_and_the_newest_is_kept() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dest = destination(&store);
    for n in 0..25 {
        let run = format!("20261130T1000{n:02}Z-000000");
        let mut staging = ObjectStaging::open(dest.clone(), &run, RunType::FullDrop)
            .await
            .unwrap();
        upload(&mut staging, "a.parquet", "aa").await;
        staging.commit(None, None).await.unwrap();
    }
    let entries = dest
        .list(&dest.root().clone().join(HYGGE_DIR).join("log"))
        .await
        .unwrap()
        .len();
    assert_eq!(entries, 21);
    assert_eq!(dest.log().latest().await.unwrap().unwrap().version, 25);
    assert_eq!(visible(&dest).await, files(&[("a.parquet", "aa")]));
}

/// The Delta log entries under a destination, each as its lines of JSON.
async fn delta_entries(destination: &ObjectDestination) -> Vec<Vec<serde_json::Value>> {
    let mut entries = Vec::new();
    let dir = destination.root().clone().join(DELTA_LOG_DIR);
    let mut listed = destination.list(&dir).await.unwrap();
    listed.sort_by(|a, b| a.location.cmp(&b.location));
    for meta in listed {
        let bytes = destination
            .store()
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        entries.push(
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        );
    }
    entries
}

#[tokio::test]
async fn a_delta_entry_a_crash_left_unwritten_is_written_once_by_the_next_run() {
    use arrow_schema::{DataType, Field, Schema};
    let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
    let table = DeltaTable {
        partition_by: Vec::new(),
    };
    for (store, _dir) in stores() {
        let dest = destination(&store);
        let mut first = ObjectStaging::open(dest.clone(), RUN_1, RunType::FullDrop)
            .await
            .unwrap()
            .as_delta(table.clone());
        upload(&mut first, "a.parquet", "aaaa").await;
        // Committed to hygge's log, then dead before anything was made visible.
        let commit = first.prepare(None, Some(schema.clone())).await.unwrap();
        drop(first);
        assert!(delta_entries(&dest).await.is_empty());

        // The next run finishes the commit, Delta entry included.
        let second = ObjectStaging::open(dest.clone(), RUN_2, RunType::FullDrop)
            .await
            .unwrap();
        let entries = delta_entries(&dest).await;
        assert_eq!(entries.len(), 1);
        let adds: Vec<&serde_json::Value> =
            entries[0].iter().filter_map(|a| a.get("add")).collect();
        assert_eq!(adds.len(), 1);
        assert_eq!(adds[0]["path"], "a.parquet");
        assert_eq!(entries[0][0]["commitInfo"]["hyggeRunId"], RUN_1);
        assert!(entries[0].iter().any(|a| a.get("protocol").is_some()));

        // Finishing the same commit again (a concurrent finish) writes no second entry.
        finish(&dest, &commit).await.unwrap();
        assert_eq!(delta_entries(&dest).await.len(), 1);

        // An overwrite removes the replaced file in the Delta log but keeps it in storage.
        let mut second = second.as_delta(table.clone());
        upload(&mut second, "b.parquet", "bb").await;
        second.commit(None, Some(schema.clone())).await.unwrap();
        let entries = delta_entries(&dest).await;
        assert_eq!(entries.len(), 2);
        let removed: Vec<&serde_json::Value> =
            entries[1].iter().filter_map(|a| a.get("remove")).collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0]["path"], "a.parquet");
        assert!(visible(&dest).await.contains_key("a.parquet"));
        assert_eq!(
            entries[1][2]["metaData"]["id"],
            entries[0][2]["metaData"]["id"]
        );
    }
}

//! Parallel load streams into a staging table: batches handed to the first free stream,
//! each stream on a task (and a connection) of its own.

use std::future::Future;
use std::sync::Arc;

use arrow_array::RecordBatch;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use crate::contract::{ConnectorError, ConnectorResult};

/// The batches still to be loaded, shared by the streams: each takes the next one when it is
/// free.
pub type Batches = Arc<Mutex<mpsc::Receiver<RecordBatch>>>;

/// `workers` load streams fed through one bounded channel.
pub struct LoadStreams {
    sender: Option<mpsc::Sender<RecordBatch>>,
    workers: JoinSet<ConnectorResult<u64>>,
    handed: u64,
}

impl LoadStreams {
    /// Starts `workers` streams running `load`, which takes batches from the shared queue
    /// until it is closed and returns the rows the database took.
    pub fn start<F, Fut>(workers: usize, load: F) -> LoadStreams
    where
        F: Fn(Batches) -> Fut,
        Fut: Future<Output = ConnectorResult<u64>> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel::<RecordBatch>(workers.max(1));
        let receiver: Batches = Arc::new(Mutex::new(receiver));
        let mut tasks = JoinSet::new();
        for _ in 0..workers.max(1) {
            let queue = receiver.clone();
            let running = load(receiver.clone());
            tasks.spawn(async move {
                let result = running.await;
                if result.is_err() {
                    // Stop taking batches so the writer learns of the failure at once.
                    queue.lock().await.close();
                }
                result
            });
        }
        LoadStreams {
            sender: Some(sender),
            workers: tasks,
            handed: 0,
        }
    }

    /// Hands a batch to the next free stream.
    ///
    /// # Errors
    /// The error of the stream that failed, when every stream has stopped.
    pub async fn send(&mut self, batch: RecordBatch) -> ConnectorResult<()> {
        let rows = batch.num_rows() as u64;
        let Some(sender) = &self.sender else {
            return Err(ConnectorError::internal("write after commit or abort"));
        };
        if sender.send(batch).await.is_err() {
            return Err(self
                .finish()
                .await
                .err()
                .unwrap_or_else(|| ConnectorError::internal("the load streams stopped early")));
        }
        self.handed += rows;
        Ok(())
    }

    /// Closes the queue and waits for every stream; the first error wins. Checks that the
    /// database took every row handed to the streams.
    ///
    /// # Errors
    /// The first stream's error, or a count that does not add up.
    pub async fn finish(&mut self) -> ConnectorResult<u64> {
        self.sender = None;
        let mut loaded = 0;
        let mut first_error = None;
        while let Some(done) = self.workers.join_next().await {
            match done {
                Ok(Ok(rows)) => loaded += rows,
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(ConnectorError::internal(format!(
                        "a load stream stopped unexpectedly: {e}"
                    )));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if loaded != self.handed {
            return Err(ConnectorError::internal(format!(
                "{} rows were handed to the load streams but the database took {loaded}",
                self.handed
            )));
        }
        Ok(loaded)
    }

    /// Stops every stream without waiting for its batches.
    pub async fn abort(&mut self) {
        self.sender = None;
        self.workers.abort_all();
        while self.workers.join_next().await.is_some() {}
    }
}

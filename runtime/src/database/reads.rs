//! Reads of several statements at once (range partitions) gathered into one reader.

use std::future::Future;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::contract::{BatchReader, ConnectorError, ConnectorResult};

/// Where one read sends its batches.
pub type BatchSender = mpsc::Sender<ConnectorResult<RecordBatch>>;

/// A reader of the batches of several reads running at once, each on a task of its own:
/// batches arrive as the reads produce them, at most two per read waiting, and a read's
/// error arrives behind the batches it sent before it.
pub struct ParallelReader {
    schema: SchemaRef,
    receiver: mpsc::Receiver<ConnectorResult<RecordBatch>>,
    tasks: JoinSet<()>,
}

impl ParallelReader {
    /// Starts `read` on each of `jobs` (a statement, and whatever it runs on).
    pub fn start<J, F, Fut>(schema: SchemaRef, jobs: Vec<J>, read: F) -> ParallelReader
    where
        J: Send + 'static,
        F: Fn(J, BatchSender) -> Fut,
        Fut: Future<Output = ConnectorResult<()>> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(2 * jobs.len().max(1));
        let mut tasks = JoinSet::new();
        for job in jobs {
            let errors = sender.clone();
            let running = read(job, sender.clone());
            tasks.spawn(async move {
                if let Err(e) = running.await {
                    errors.send(Err(e)).await.ok();
                }
            });
        }
        ParallelReader {
            schema,
            receiver,
            tasks,
        }
    }
}

#[async_trait]
impl BatchReader for ParallelReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        if let Some(item) = self.receiver.recv().await {
            return item.map(Some);
        }
        // Every sender is gone: make sure each read ended well, not by a panic.
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                return Err(ConnectorError::internal(format!(
                    "a partition reader stopped unexpectedly: {e}"
                )));
            }
        }
        Ok(None)
    }
}

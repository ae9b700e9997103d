//! Reading a Delta table hygge wrote with `partition_by`: its files leave the partition
//! columns out (Delta keeps their values in the log and the paths), so each partition's
//! files are read in turn and its values added as columns, typed as the table's schema
//! says, in the table's column order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow_schema::{Schema, SchemaRef};
use async_trait::async_trait;
use hygge_runtime::contract::{BatchReader, ConnectorError, ConnectorResult, ReadRequest};

use super::object_inputs::{Partition, PartitionedTable};
use super::reader::{FilesReader, ReadPlan};

/// A [`BatchReader`] over a partitioned table.
pub struct PartitionedReader {
    plan: ReadPlan,
    /// What the flow asked for, in its order.
    schema: SchemaRef,
    /// The file columns asked for (the request handed to each partition's reader).
    file_request: ReadRequest,
    partitions: VecDeque<Partition>,
    current: Option<(FilesReader, BTreeMap<String, Option<String>>)>,
}

impl PartitionedReader {
    /// Plans the read of `table` (with `plan`'s format and options) for `request`.
    ///
    /// # Errors
    /// A requested column the table does not have.
    pub fn open(
        plan: ReadPlan,
        table: PartitionedTable,
        request: &ReadRequest,
    ) -> ConnectorResult<PartitionedReader> {
        let wanted: Vec<String> = match request.columns() {
            Some(columns) => columns.to_vec(),
            None => table
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        let mut fields = Vec::with_capacity(wanted.len());
        for name in &wanted {
            let field = table.schema.field_with_name(name).map_err(|_| {
                ConnectorError::config(format!("column `{name}` is not in the table"))
                    .with_context("check `columns`")
            })?;
            fields.push(field.clone());
        }
        let in_files: Vec<String> = wanted
            .iter()
            .filter(|c| !table.partition_by.contains(c))
            .cloned()
            .collect();
        Ok(PartitionedReader {
            plan,
            schema: Arc::new(Schema::new(fields)),
            file_request: request.clone().with_columns(Some(in_files)),
            partitions: table.partitions.into(),
            current: None,
        })
    }

    /// `batch` (file columns) with the partition's values added, in the output's order.
    fn complete(
        &self,
        batch: &RecordBatch,
        values: &BTreeMap<String, Option<String>>,
    ) -> ConnectorResult<RecordBatch> {
        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for field in self.schema.fields() {
            let column = match (batch.column_by_name(field.name()), values.get(field.name())) {
                (Some(column), _) => column.clone(),
                (None, Some(Some(value))) => {
                    let text = StringArray::from(vec![value.as_str(); rows]);
                    arrow_cast::cast(&text, field.data_type()).map_err(|e| {
                        ConnectorError::data(format!(
                            "partition value `{value}` of `{}` is not a {}: {e}",
                            field.name(),
                            field.data_type()
                        ))
                    })?
                }
                (None, _) => new_null_array(field.data_type(), rows),
            };
            columns.push(column);
        }
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| ConnectorError::data(format!("cannot add the partition columns: {e}")))
    }
}

#[async_trait]
impl BatchReader for PartitionedReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn next_batch(&mut self) -> ConnectorResult<Option<RecordBatch>> {
        loop {
            if let Some((reader, values)) = &mut self.current {
                if let Some(batch) = reader.next_batch().await? {
                    let values = values.clone();
                    return self.complete(&batch, &values).map(Some);
                }
                self.current = None;
            }
            let Some((values, files)) = self.partitions.pop_front() else {
                return Ok(None);
            };
            let plan = ReadPlan {
                files,
                ..self.plan.clone()
            };
            let reader = FilesReader::open(plan, &self.file_request).await?;
            self.current = Some((reader, values));
        }
    }
}

//! The small sample dataset of `hygge init` and `samples/quickstart`: deterministic, so the
//! committed quickstart data is exactly what this code writes.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::{
    Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Customers in the sample.
pub const CUSTOMERS: usize = 200;
/// Orders in the sample.
pub const ORDERS: usize = 1_000;

const NAMES: &[&str] = &[
    "Ada", "Bjørn", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustav", "Hana", "Ilse", "Jonas",
];
const COUNTRIES: &[&str] = &["DK", "NO", "SE", "FR", "DE", "KR", "US", "JP"];
const STATUSES: &[&str] = &["placed", "shipped", "delivered", "returned"];

/// The customers table.
pub fn customers() -> Result<RecordBatch> {
    let ids: Vec<i64> = (1..=CUSTOMERS as i64).collect();
    let names: Vec<String> = ids
        .iter()
        .map(|i| format!("{} {}", NAMES[*i as usize % NAMES.len()], i))
        .collect();
    let emails: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 13 != 0).then(|| format!("customer{i}@example.com")))
        .collect();
    let countries: Vec<&str> = ids
        .iter()
        .map(|i| COUNTRIES[(*i as usize * 7) % COUNTRIES.len()])
        .collect();
    // 2024-01-01 is day 19723 since the epoch.
    let signup: Vec<i32> = ids
        .iter()
        .map(|i| 19_723 + (*i as i32 * 37) % 365)
        .collect();
    let value: Vec<i128> = ids
        .iter()
        .map(|i| i128::from(*i) * 12_345 % 1_000_000)
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("country", DataType::Utf8, false),
        Field::new("signup_date", DataType::Date32, false),
        Field::new("lifetime_value", DataType::Decimal128(12, 2), false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(emails)),
            Arc::new(StringArray::from(countries)),
            Arc::new(Date32Array::from(signup)),
            Arc::new(Decimal128Array::from(value).with_precision_and_scale(12, 2)?),
        ],
    )?)
}

/// The orders table.
pub fn orders() -> Result<RecordBatch> {
    let ids: Vec<i64> = (1..=ORDERS as i64).collect();
    let customer: Vec<i64> = ids
        .iter()
        .map(|i| (i * 31) % CUSTOMERS as i64 + 1)
        .collect();
    // 2024-06-01T00:00:00Z in microseconds, plus a pseudo-random offset.
    let at: Vec<i64> = ids
        .iter()
        .map(|i| 1_717_200_000_000_000 + (i * 7_919 % 86_400) * 1_000_000 * 30)
        .collect();
    let amount: Vec<i128> = ids
        .iter()
        .map(|i| i128::from(*i) * 7_717 % 50_000 + 99)
        .collect();
    let status: Vec<&str> = ids
        .iter()
        .map(|i| STATUSES[*i as usize % STATUSES.len()])
        .collect();
    let quantity: Vec<i32> = ids.iter().map(|i| (*i % 5 + 1) as i32).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new(
            "ordered_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("amount", DataType::Decimal128(10, 2), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("quantity", DataType::Int32, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(customer)),
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
            Arc::new(Decimal128Array::from(amount).with_precision_and_scale(10, 2)?),
            Arc::new(StringArray::from(status)),
            Arc::new(Int32Array::from(quantity)),
        ],
    )?)
}

/// Writes `batch` to `path` as Parquet.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

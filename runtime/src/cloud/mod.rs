//! Object stores as places files live: URLs in a file home's or store's `path`
//! (`s3://`, `abfss://`, `az://`, `gs://`) and the connections that sign in to them
//! (`type: s3 | azure | gcs` under `connections:`). What is published there goes through
//! [`crate::publish::objects`].

mod connection;
mod location;

pub use connection::{AzureCredential, CloudConnection};
pub use location::{Cloud, ObjectUrl};

use hygge_native_connectors::parquet::wasm;
use hygge_runtime::contract::{HomeSpec, ReadRequest};
use hygge_runtime::wasm::Permissions;
use std::time::Instant;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let spec = wasm::home(&path, None, Permissions::default()).unwrap();
    let t0 = Instant::now();
    let mut reader = spec.build().open(&ReadRequest::default()).await.unwrap();
    println!("open {:?}", t0.elapsed());
    let t = Instant::now();
    let mut rows = 0;
    while let Some(b) = reader.next_batch().await.unwrap() {
        rows += b.num_rows();
    }
    println!("rows {rows} read {:?}", t.elapsed());
}

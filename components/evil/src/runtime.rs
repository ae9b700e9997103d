//! Attacks on the host's limits and on the contract, made in `next-batch`.

use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use crate::blocked;
use crate::hygge::connector::types::Error;

/// Runs the attack `name` if it is one of these.
pub fn attack(name: &str) -> Option<Result<Option<Vec<u8>>, Error>> {
    Some(match name {
        "spin" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 16 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        // A wasm32 `Vec` cannot address 2 GiB; 1.5 GiB is past the memory cap and past the
        // host's message limit.
        "huge_batch" => Ok(Some(vec![0u8; 3 << 29])),
        "garbage" => Ok(Some(b"this is not Arrow IPC at all".to_vec())),
        // The end-of-unit answer of a home in parts, from an instance opened alone.
        "empty_batch" => Ok(Some(Vec::new())),
        "wrong_schema" => {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "other",
                DataType::Utf8,
                false,
            )]));
            let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["x"]))])
                .map_err(|e| blocked(name, e));
            batch.and_then(|b| {
                hygge_ipc::batch_to_bytes(&b)
                    .map(Some)
                    .map_err(|e| blocked(name, e))
            })
        }
        "trap" => panic!("the evil component panics on purpose"),
        "flood_stdout" => {
            let line = "x".repeat(1023);
            for _ in 0..100_000 {
                println!("{line}");
            }
            Ok(None)
        }
        _ => return None,
    })
}

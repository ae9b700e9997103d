//! TDS packets (MS-TDS 2.2.3): a reader task that turns the socket into a
//! channel of packets, and a writer that splits a response into packets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// Packet types.
pub(crate) mod ptype {
    pub(crate) const SQL_BATCH: u8 = 0x01;
    pub(crate) const RPC: u8 = 0x03;
    pub(crate) const TABULAR: u8 = 0x04;
    pub(crate) const ATTENTION: u8 = 0x06;
    pub(crate) const BULK_LOAD: u8 = 0x07;
    pub(crate) const TRANSACTION_MANAGER: u8 = 0x0E;
    pub(crate) const LOGIN7: u8 = 0x10;
    pub(crate) const PRELOGIN: u8 = 0x12;
}

/// Status bit: last packet of a message.
pub(crate) const STATUS_EOM: u8 = 0x01;
/// Header size.
pub(crate) const HEADER_LEN: usize = 8;
/// Smallest and largest negotiable packet sizes.
pub(crate) const MIN_PACKET: usize = 512;
/// Largest negotiable packet size.
pub(crate) const MAX_PACKET: usize = 32_767;
/// Packet size before login negotiates one.
pub(crate) const DEFAULT_PACKET: usize = 4096;

/// One packet from the client.
#[derive(Debug)]
pub(crate) struct Packet {
    /// Packet type.
    pub(crate) ty: u8,
    /// Status bits.
    pub(crate) status: u8,
    /// Payload after the header.
    pub(crate) payload: Vec<u8>,
}

impl Packet {
    /// Whether this ends a message.
    pub(crate) fn is_last(&self) -> bool {
        self.status & STATUS_EOM != 0
    }
}

/// Spawns the reader task. The channel ends when the client disconnects (or
/// sends garbage); `attention` is raised as soon as an Attention packet arrives,
/// so a long response can stop early.
pub(crate) fn spawn_reader(
    mut read: OwnedReadHalf,
    attention: Arc<AtomicBool>,
) -> mpsc::Receiver<Packet> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let mut header = [0u8; HEADER_LEN];
            if read.read_exact(&mut header).await.is_err() {
                return;
            }
            let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if len < HEADER_LEN {
                tracing::debug!("TDS packet with length {len} < 8; closing");
                return;
            }
            let mut payload = vec![0u8; len - HEADER_LEN];
            if read.read_exact(&mut payload).await.is_err() {
                return;
            }
            if header[0] == ptype::ATTENTION {
                attention.store(true, Ordering::SeqCst);
            }
            let packet = Packet {
                ty: header[0],
                status: header[1],
                payload,
            };
            if tx.send(packet).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Response bytes are flushed to the socket once this many are buffered.
const FLUSH_THRESHOLD: usize = 256 * 1024;

/// Collects one response message and writes it as tabular-result packets.
#[derive(Debug)]
pub(crate) struct ResponseWriter {
    out: OwnedWriteHalf,
    body: Vec<u8>,
    wire: Vec<u8>,
    packet_size: usize,
    packet_id: u8,
    spid: u16,
}

impl ResponseWriter {
    /// A writer for a connection.
    pub(crate) fn new(out: OwnedWriteHalf, spid: u16) -> ResponseWriter {
        ResponseWriter {
            out,
            body: Vec::with_capacity(FLUSH_THRESHOLD + 64 * 1024),
            wire: Vec::new(),
            packet_size: DEFAULT_PACKET,
            packet_id: 1,
            spid,
        }
    }

    /// Sets the negotiated packet size.
    pub(crate) fn set_packet_size(&mut self, size: usize) {
        self.packet_size = size.clamp(MIN_PACKET, MAX_PACKET);
    }

    /// The buffer tokens are written into.
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.body
    }

    /// Writes out whole packets if a lot is buffered (never the last packet).
    pub(crate) async fn flush_if_large(&mut self) -> std::io::Result<()> {
        if self.body.len() < FLUSH_THRESHOLD {
            return Ok(());
        }
        let per = self.packet_size - HEADER_LEN;
        let full = self.body.len() / per * per;
        // Keep at least one byte so that the final packet carries EOM.
        let full = if full == self.body.len() {
            full - per
        } else {
            full
        };
        self.write_packets(full, false).await
    }

    /// Writes the rest of the message, the last packet flagged EOM.
    pub(crate) async fn finish(&mut self) -> std::io::Result<()> {
        let len = self.body.len();
        self.write_packets(len, true).await?;
        self.out.flush().await
    }

    async fn write_packets(&mut self, upto: usize, last: bool) -> std::io::Result<()> {
        let per = self.packet_size - HEADER_LEN;
        self.wire.clear();
        let mut start = 0;
        loop {
            let end = (start + per).min(upto);
            let eom = last && end == upto;
            let len = (end - start + HEADER_LEN) as u16;
            self.wire.push(ptype::TABULAR);
            self.wire.push(if eom { STATUS_EOM } else { 0 });
            self.wire.extend_from_slice(&len.to_be_bytes());
            self.wire.extend_from_slice(&self.spid.to_be_bytes());
            self.wire.push(self.packet_id);
            self.wire.push(0);
            self.wire.extend_from_slice(&self.body[start..end]);
            self.packet_id = self.packet_id.wrapping_add(1);
            start = end;
            if start >= upto {
                break;
            }
        }
        self.out.write_all(&self.wire).await?;
        self.body.drain(..upto);
        Ok(())
    }
}

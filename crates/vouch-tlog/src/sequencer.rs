//! Batching in front of a [`Log`]: many writers call [`Sequencer::append`] concurrently;
//! a single worker thread integrates up to `max_batch` entries, or whatever arrived within
//! `max_delay` of the first, as one batch (one set of tile writes, one signed checkpoint,
//! one index commit). The batch is also closed early when no new entry arrived for `idle`
//! (every waiting writer has submitted: lingering would only add latency). Each caller gets
//! its acknowledgement only after the batch is durable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::log::{Appended, Log, LogError};

/// Batching limits: 256 entries or 250 ms by default, closed early after 2 ms without a
/// new entry.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    pub max_batch: usize,
    pub max_delay: Duration,
    pub idle: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch: 256,
            max_delay: Duration::from_millis(250),
            idle: Duration::from_millis(2),
        }
    }
}

type Reply = mpsc::SyncSender<Result<Appended, String>>;

/// A running sequencer; dropping it stops the worker after the pending batch and closes the
/// log on the worker's thread.
pub struct Sequencer {
    tx: Option<mpsc::Sender<(Vec<u8>, Reply)>>,
    worker: Option<JoinHandle<Option<Log>>>,
    /// Set by [`Sequencer::stop`]: the worker hands the log back instead of closing it.
    hand_back: Arc<AtomicBool>,
}

impl Sequencer {
    pub fn start(mut log: Log, cfg: BatchConfig) -> Self {
        let (tx, rx) = mpsc::channel::<(Vec<u8>, Reply)>();
        let hand_back = Arc::new(AtomicBool::new(false));
        let give = hand_back.clone();
        let worker = std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                let deadline = Instant::now() + cfg.max_delay;
                while batch.len() < cfg.max_batch.max(1) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left.min(cfg.idle)) {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let refs: Vec<&[u8]> = batch.iter().map(|(d, _)| d.as_slice()).collect();
                match log.append_batch(&refs) {
                    Ok(acks) => {
                        for ((_, reply), ack) in batch.iter().zip(acks) {
                            let _ = reply.send(Ok(ack));
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for (_, reply) in &batch {
                            let _ = reply.send(Err(msg.clone()));
                        }
                    }
                }
            }
            // Closed here unless asked for: the index may hold a blocking database client,
            // whose drop must not run on an async runtime's thread (where a service that
            // owns the sequencer is usually dropped).
            give.load(Ordering::Acquire).then_some(log)
        });
        Sequencer {
            tx: Some(tx),
            worker: Some(worker),
            hand_back,
        }
    }

    /// Appends one entry and waits until it is durable.
    pub fn append(&self, data: Vec<u8>) -> Result<Appended, LogError> {
        if data.len() > crate::log::MAX_ENTRY {
            return Err(LogError::TooLarge(data.len()));
        }
        let (rtx, rrx) = mpsc::sync_channel(1);
        let stopped = || LogError::Corrupt("the sequencer stopped".into());
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send((data, rtx))
            .map_err(|_| stopped())?;
        rrx.recv()
            .map_err(|_| stopped())?
            .map_err(LogError::Corrupt)
    }

    /// Stops the worker and returns the log.
    pub fn stop(mut self) -> Option<Log> {
        self.hand_back.store(true, Ordering::Release);
        self.tx.take();
        self.worker.take().and_then(|w| w.join().ok().flatten())
    }
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

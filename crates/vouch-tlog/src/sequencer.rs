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

/// Where a batch's outcome for one entry goes: a waiting thread's channel ([`Sequencer::append`])
/// or a caller's callback ([`Sequencer::submit`], e.g. completing an async task).
type Reply = Box<dyn FnOnce(Result<Appended, String>) + Send>;

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
                        for ((_, reply), ack) in batch.into_iter().zip(acks) {
                            reply(Ok(ack));
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for (_, reply) in batch {
                            reply(Err(msg.clone()));
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
        let (rtx, rrx) = mpsc::sync_channel(1);
        self.submit(data, move |r| {
            let _ = rtx.send(r);
        });
        rrx.recv()
            .map_err(|_| LogError::Corrupt("the sequencer stopped".into()))?
    }

    /// Queues one entry; `done` is called exactly once, on the worker's thread, with its
    /// acknowledgement once the batch holding it is durable (or with the error). It must be
    /// quick: the rest of the batch's callers wait for it. For callers that must not block
    /// a thread while the batch is written (an async server hands over a oneshot sender).
    pub fn submit(
        &self,
        data: Vec<u8>,
        done: impl FnOnce(Result<Appended, LogError>) + Send + 'static,
    ) {
        if data.len() > crate::log::MAX_ENTRY {
            return done(Err(LogError::TooLarge(data.len())));
        }
        let reply: Reply = Box::new(move |r| done(r.map_err(LogError::Corrupt)));
        let Some(tx) = self.tx.as_ref() else {
            return reply(Err("the sequencer stopped".into()));
        };
        // A send fails only when the worker is gone; it hands the entry (and reply) back.
        if let Err(mpsc::SendError((_, reply))) = tx.send((data, reply)) {
            reply(Err("the sequencer stopped".into()));
        }
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

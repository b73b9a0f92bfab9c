//! The scaffolding shared by the host's periodic signers
//! ([`super::OperatorBeat`] and [`super::StopHolder`]): a thread with its
//! own MQTT connection and a current-thread runtime, a poller that keeps
//! the connection up, and a tick that hands the client to the signer.
//!
//! The signers publish with `try_publish`, which never waits: a tick that
//! finds the request channel full reports it and the next tick tries again,
//! so a dead broker can never block the loop or grow a queue.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions};
use tokio::time::MissedTickBehavior;

use super::HostError;

/// Counters and the stop flag, shared between the thread and its handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    stop: AtomicBool,
    sent: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn error(&self, e: impl std::fmt::Display) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    }

    pub(crate) fn sent_one(&self) {
        self.sent.fetch_add(1, Ordering::SeqCst);
    }
}

/// A running periodic signer; stops (and joins) when dropped.
#[derive(Debug)]
pub(crate) struct Periodic {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Connect with `opts` and call `tick` every `period`, the first time at
    /// once.
    pub(crate) fn start(
        name: &str,
        opts: MqttOptions,
        period: Duration,
        mut tick: impl FnMut(&AsyncClient, &Shared) + Send + 'static,
    ) -> Result<Periodic, HostError> {
        if period.is_zero() {
            return Err(HostError::Invalid(format!("the {name} period must be above zero")));
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            rt.block_on(async move {
                let (client, mut el) = AsyncClient::new(opts, 16);
                let errors = sh.clone();
                // The event loop reconnects on the next poll after an error;
                // the pause keeps a dead broker from spinning a core.
                let poller = tokio::spawn(async move {
                    loop {
                        if let Err(e) = el.poll().await {
                            errors.error(e);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                });
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                while !sh.stop.load(Ordering::SeqCst) {
                    interval.tick().await;
                    tick(&client, &sh);
                }
                let _ = client.try_disconnect();
                poller.abort();
            });
        })?;
        Ok(Periodic { shared, thread: Some(thread) })
    }

    /// Messages handed to the connection so far.
    pub(crate) fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

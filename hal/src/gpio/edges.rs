//! A thread that turns a blocking source of line edges into encoder counts.
//!
//! The character-device backend reads edge events with a blocking call;
//! running it on its own thread keeps the control loop from ever waiting
//! on a GPIO read (the loop reads the [`Encoders`] atomics). The thread
//! wakes at least every [`POLL`] to notice it should stop, and when the
//! source fails it marks the encoders faulty and ends, so the next pose
//! request reports the fault instead of a frozen position. (On a Pi,
//! rppal runs its own interrupt threads and calls [`Encoders::edge`]
//! directly; no worker is needed.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::encoder::{Channel, Encoders, Wheel};
use super::error::GpioError;

/// How long one wait for edges may block before the stop flag is checked.
pub const POLL: Duration = Duration::from_millis(100);

/// Something that can block until lines change.
pub trait EdgeSource: Send + 'static {
    /// Wait up to `timeout` and append the edges that arrived, as
    /// `(line, new level)` in arrival order. Returning none is a timeout.
    fn wait(&mut self, timeout: Duration, out: &mut Vec<(u32, bool)>) -> Result<(), GpioError>;
}

/// Which encoder channel each line is.
#[derive(Debug, Clone, Default)]
pub struct LineMap(Vec<(u32, Wheel, Channel)>);

impl LineMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, line: u32, wheel: Wheel, channel: Channel) {
        self.0.push((line, wheel, channel));
    }

    pub fn get(&self, line: u32) -> Option<(Wheel, Channel)> {
        self.0.iter().find(|(l, _, _)| *l == line).map(|&(_, w, c)| (w, c))
    }

    pub fn lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|(l, _, _)| *l)
    }
}

/// The running counting thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct EdgeWorker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EdgeWorker {
    /// Start counting the edges `source` reports into `encoders`.
    pub fn spawn(mut source: impl EdgeSource, map: LineMap, encoders: Arc<Encoders>) -> Result<Self, GpioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("wheel-encoders".into())
            .spawn(move || {
                let mut edges = Vec::new();
                while !flag.load(Ordering::Relaxed) {
                    edges.clear();
                    if let Err(e) = source.wait(POLL, &mut edges) {
                        encoders.set_fault(e.to_string());
                        return;
                    }
                    for &(line, level) in &edges {
                        // Lines not in the map were never requested; ignore rather than guess.
                        if let Some((wheel, channel)) = map.get(line) {
                            encoders.edge(wheel, channel, level);
                        }
                    }
                }
            })
            .map_err(|e| GpioError::open("the wheel-encoder thread", e))?;
        Ok(Self { stop, handle: Some(handle) })
    }

    /// Whether the thread is still counting.
    pub fn is_running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

impl Drop for EdgeWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            // A panicked worker has nothing left to clean up.
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Edges arrive over a channel; a closed channel is a failed source.
    struct Fake(mpsc::Receiver<(u32, bool)>);

    impl EdgeSource for Fake {
        fn wait(&mut self, timeout: Duration, out: &mut Vec<(u32, bool)>) -> Result<(), GpioError> {
            match self.0.recv_timeout(timeout) {
                Ok(e) => out.push(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(GpioError::io("edge events", "device gone")),
            }
            out.extend(self.0.try_iter());
            Ok(())
        }
    }

    fn wait_until(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..500 {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn counts_edges_and_reports_a_failed_source() {
        let (tx, rx) = mpsc::channel();
        let enc = Arc::new(Encoders::new(true, false));
        let mut map = LineMap::new();
        map.add(16, Wheel::Left, Channel::A);
        map.add(26, Wheel::Left, Channel::B);
        map.add(7, Wheel::Right, Channel::A);
        assert_eq!(map.lines().collect::<Vec<_>>(), [16, 26, 7]);
        let worker = EdgeWorker::spawn(Fake(rx), map, enc.clone()).unwrap();
        // Two forward quadrature steps on the left, an unknown line, one right edge with no direction.
        for e in [(16, true), (26, true), (99, true), (7, true)] {
            tx.send(e).unwrap();
        }
        assert!(wait_until(|| enc.counts() == [2, 0]), "{:?}", enc.counts());
        assert!(worker.is_running());
        drop(tx);
        assert!(wait_until(|| enc.fault().is_some()));
        assert!(enc.fault().unwrap().contains("device gone"));
        assert!(wait_until(|| !worker.is_running()));
    }

    #[test]
    fn dropping_the_worker_stops_it() {
        let (_tx, rx) = mpsc::channel();
        let worker = EdgeWorker::spawn(Fake(rx), LineMap::new(), Arc::new(Encoders::new(true, true))).unwrap();
        drop(worker); // joins within one POLL
    }
}

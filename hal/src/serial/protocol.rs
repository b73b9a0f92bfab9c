//! The host side of the link protocol as a state machine with no I/O.
//!
//! [`Protocol`] turns requests into wire frames, matches replies to the
//! outstanding request, and decides on retransmission, timeout and
//! disconnection, all from the `now` it is handed, so it is tested with
//! made-up instants and the I/O thread in [`super::link`] only moves bytes
//! and timers (the split rumqttc uses between its state and event loop).
//!
//! There are two request slots. The *normal* slot holds at most one
//! outstanding request: the firmware can stay simple (one request at a time,
//! answered in order). The *priority* slot is for `EStop` and `Rearm`: it is
//! sent at once even while a normal request is outstanding, and a newer
//! priority request replaces an older one, because only the latest
//! kill-switch decision matters.

use std::time::{Duration, Instant};

use crate::ErrorKind;

use super::frame::{self, DecoderStats, FrameDecoder, FrameError, WireFrame};
use super::messages::{Frame, Reply, Request};

/// Retransmission and liveness parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolConfig {
    /// How long to wait for a reply before retransmitting.
    pub reply_timeout: Duration,
    /// Retransmissions (same seq) before giving up with `Timeout`.
    pub max_retries: u8,
    /// A peer that has sent nothing valid for this long while replies were
    /// expected is reported `Disconnected`.
    pub disconnect_after: Duration,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self { reply_timeout: Duration::from_millis(50), max_retries: 3, disconnect_after: Duration::from_millis(500) }
    }
}

/// Which request slot a completion belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Normal,
    Priority,
}

/// A finished request: its reply, or why there will be none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub slot: Slot,
    pub seq: u16,
    pub request: Request,
    pub result: Result<Reply, ErrorKind>,
}

/// Something the I/O thread must do after [`Protocol::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this frame again (a retransmission, same seq).
    Resend(WireFrame),
    /// Hand this result to whoever asked.
    Complete(Completion),
}

/// Counters over the life of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkStats {
    pub frames_sent: u64,
    /// Valid frames received.
    pub frames_ok: u64,
    pub crc_errors: u64,
    /// Bad COBS, short, or undecodable frames.
    pub malformed: u64,
    /// Chunks too long for a frame.
    pub overruns: u64,
    /// Times the decoder discarded bytes to find the next frame.
    pub resyncs: u64,
    pub retransmits: u64,
    /// Requests that failed with `Timeout`.
    pub timeouts: u64,
    /// Requests that failed with `Disconnected`.
    pub disconnects: u64,
    /// Valid replies that matched no outstanding request (late or duplicate).
    pub stale_replies: u64,
    /// Priority requests replaced by a newer one before their reply came.
    pub superseded: u64,
}

/// Why a request could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("a request is already outstanding")]
    Busy,
    #[error("request does not encode: {0}")]
    Encode(FrameError),
}

#[derive(Debug, Clone)]
struct Outstanding {
    seq: u16,
    request: Request,
    wire: WireFrame,
    sent_at: Instant,
    retries: u8,
}

/// The host protocol state. See the module docs.
#[derive(Debug)]
pub struct Protocol {
    cfg: ProtocolConfig,
    next_seq: u16,
    normal: Option<Outstanding>,
    priority: Option<Outstanding>,
    decoder: FrameDecoder<Reply>,
    /// When we started waiting for the peer without hearing from it since.
    waiting_since: Option<Instant>,
    stats: LinkStats,
}

impl Protocol {
    pub fn new(cfg: ProtocolConfig) -> Self {
        Self {
            cfg,
            next_seq: 1,
            normal: None,
            priority: None,
            decoder: FrameDecoder::new(),
            waiting_since: None,
            stats: LinkStats::default(),
        }
    }

    pub fn config(&self) -> ProtocolConfig {
        self.cfg
    }

    /// Whether the normal slot holds an outstanding request.
    pub fn is_busy(&self) -> bool {
        self.normal.is_some()
    }

    /// Whether a priority request is awaiting its reply.
    pub fn priority_pending(&self) -> bool {
        self.priority.is_some()
    }

    pub fn stats(&self) -> LinkStats {
        let DecoderStats { frames_ok, crc_errors, malformed, overruns, resyncs } = self.decoder.stats();
        LinkStats { frames_ok, crc_errors, malformed, overruns, resyncs, ..self.stats }
    }

    /// Whether the peer has been silent for the disconnect threshold while
    /// we were waiting for it.
    pub fn is_disconnected(&self, now: Instant) -> bool {
        self.waiting_since.is_some_and(|t| now.saturating_duration_since(t) >= self.cfg.disconnect_after)
    }

    /// Start a request in `slot`; returns its seq and the frame to write.
    /// A priority request replaces an outstanding one (counted as
    /// superseded); a normal one needs the slot free.
    pub fn start(&mut self, slot: Slot, request: Request, now: Instant) -> Result<(u16, WireFrame), ProtocolError> {
        if slot == Slot::Normal && self.normal.is_some() {
            return Err(ProtocolError::Busy);
        }
        let seq = self.next_seq;
        let wire = frame::encode(&Frame { seq, msg: request }).map_err(ProtocolError::Encode)?;
        self.next_seq = self.next_seq.wrapping_add(1);
        let out = Outstanding { seq, request, wire: wire.clone(), sent_at: now, retries: 0 };
        let previous = match slot {
            Slot::Normal => self.normal.replace(out),
            Slot::Priority => self.priority.replace(out),
        };
        if previous.is_some() {
            self.stats.superseded += 1;
        }
        self.waiting_since.get_or_insert(now);
        self.stats.frames_sent += 1;
        Ok((seq, wire))
    }

    /// Feed received bytes; returns the requests they complete (at most one
    /// per slot, since a slot completes once).
    pub fn receive(&mut self, bytes: &[u8], now: Instant) -> heapless::Vec<Completion, 2> {
        let mut done = heapless::Vec::new();
        for &b in bytes {
            let Some(Ok(frame)) = self.decoder.push(b) else {
                continue;
            };
            // Any valid frame proves the peer is alive; if requests are
            // still outstanding we are waiting afresh from now.
            self.waiting_since = (self.normal.is_some() || self.priority.is_some()).then_some(now);
            let reply = frame.msg;
            let slot = if self.normal.as_ref().is_some_and(|o| o.seq == reply.seq()) {
                Slot::Normal
            } else if self.priority.as_ref().is_some_and(|o| o.seq == reply.seq()) {
                Slot::Priority
            } else {
                self.stats.stale_replies += 1;
                continue;
            };
            if let Some(c) = self.take(slot, Ok(reply)) {
                // Capacity 2 and each slot completes at most once.
                let _ = done.push(c);
            }
            if self.normal.is_none() && self.priority.is_none() {
                self.waiting_since = None;
            }
        }
        done
    }

    /// Check the timers: retransmit or fail what is overdue.
    pub fn poll(&mut self, now: Instant) -> heapless::Vec<Action, 2> {
        let mut actions = heapless::Vec::new();
        let disconnected = self.is_disconnected(now);
        for slot in [Slot::Priority, Slot::Normal] {
            let cfg = self.cfg;
            let out = match slot {
                Slot::Normal => self.normal.as_mut(),
                Slot::Priority => self.priority.as_mut(),
            };
            let Some(out) = out else { continue };
            if now.saturating_duration_since(out.sent_at) < cfg.reply_timeout {
                continue;
            }
            let action = if disconnected {
                self.stats.disconnects += 1;
                self.take(slot, Err(ErrorKind::Disconnected)).map(Action::Complete)
            } else if out.retries < cfg.max_retries {
                out.retries += 1;
                out.sent_at = now;
                self.stats.retransmits += 1;
                self.stats.frames_sent += 1;
                Some(Action::Resend(out.wire.clone()))
            } else {
                self.stats.timeouts += 1;
                self.take(slot, Err(ErrorKind::Timeout)).map(Action::Complete)
            };
            if let Some(a) = action {
                let _ = actions.push(a);
            }
        }
        actions
    }

    /// Fail everything outstanding (the port itself is gone).
    pub fn fail_all(&mut self, kind: ErrorKind) -> heapless::Vec<Completion, 2> {
        let mut done = heapless::Vec::new();
        for slot in [Slot::Priority, Slot::Normal] {
            if let Some(c) = self.take(slot, Err(kind)) {
                let _ = done.push(c);
            }
        }
        done
    }

    /// The earliest instant at which [`Protocol::poll`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        [&self.normal, &self.priority].into_iter().flatten().map(|o| o.sent_at + self.cfg.reply_timeout).min()
    }

    fn take(&mut self, slot: Slot, result: Result<Reply, ErrorKind>) -> Option<Completion> {
        let out = match slot {
            Slot::Normal => self.normal.take(),
            Slot::Priority => self.priority.take(),
        }?;
        Some(Completion { slot, seq: out.seq, request: out.request, result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::messages::NackCode;

    fn cfg() -> ProtocolConfig {
        ProtocolConfig {
            reply_timeout: Duration::from_millis(10),
            max_retries: 2,
            disconnect_after: Duration::from_millis(100),
        }
    }

    fn reply_wire(reply: Reply) -> WireFrame {
        frame::encode(&Frame { seq: 900, msg: reply }).expect("encodes")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn seqs_increase_and_reply_completes_the_request() {
        let t0 = Instant::now();
        let mut p = Protocol::new(cfg());
        let (s1, _) = p.start(Slot::Normal, Request::Ping, t0).expect("free");
        assert_eq!(p.start(Slot::Normal, Request::Ping, t0), Err(ProtocolError::Busy));
        let done = p.receive(&reply_wire(Reply::Ack { seq: s1 }), t0 + ms(1));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].result, Ok(Reply::Ack { seq: s1 }));
        let (s2, _) = p.start(Slot::Normal, Request::Stop, t0 + ms(2)).expect("free again");
        assert_eq!(s2, s1.wrapping_add(1));
    }

    #[test]
    fn retransmits_same_frame_then_times_out() {
        let t0 = Instant::now();
        let mut p = Protocol::new(ProtocolConfig { disconnect_after: ms(1000), ..cfg() });
        let (_, wire) = p.start(Slot::Normal, Request::Ping, t0).expect("free");
        assert!(p.poll(t0 + ms(5)).is_empty(), "not yet due");
        assert_eq!(p.poll(t0 + ms(10)).as_slice(), &[Action::Resend(wire.clone())]);
        assert_eq!(p.poll(t0 + ms(20)).as_slice(), &[Action::Resend(wire)]);
        let last = p.poll(t0 + ms(30));
        assert!(matches!(last.as_slice(), [Action::Complete(Completion { result: Err(ErrorKind::Timeout), .. })]));
        assert_eq!(p.stats().retransmits, 2);
        assert_eq!(p.stats().timeouts, 1);
        assert!(!p.is_busy());
    }

    #[test]
    fn silent_peer_is_reported_disconnected() {
        let t0 = Instant::now();
        let mut p = Protocol::new(ProtocolConfig { max_retries: 100, ..cfg() });
        p.start(Slot::Normal, Request::Ping, t0).expect("free");
        let mut t = t0;
        let failure = loop {
            t += ms(10);
            assert!(t < t0 + ms(200), "no failure reported");
            if let Some(Action::Complete(c)) = p.poll(t).into_iter().next() {
                break c;
            }
        };
        assert_eq!(failure.result, Err(ErrorKind::Disconnected));
        assert!(t - t0 >= ms(100));
    }

    #[test]
    fn stale_and_duplicate_replies_are_dropped() {
        let t0 = Instant::now();
        let mut p = Protocol::new(cfg());
        let (s1, _) = p.start(Slot::Normal, Request::Ping, t0).expect("free");
        assert!(p.receive(&reply_wire(Reply::Ack { seq: s1.wrapping_sub(1) }), t0).is_empty());
        assert_eq!(p.receive(&reply_wire(Reply::Ack { seq: s1 }), t0).len(), 1);
        assert!(p.receive(&reply_wire(Reply::Ack { seq: s1 }), t0).is_empty());
        assert_eq!(p.stats().stale_replies, 2);
    }

    #[test]
    fn priority_goes_out_beside_a_normal_request_and_newest_wins() {
        let t0 = Instant::now();
        let mut p = Protocol::new(cfg());
        let (sn, _) = p.start(Slot::Normal, Request::Ping, t0).expect("free");
        let (se, _) = p.start(Slot::Priority, Request::EStop, t0).expect("always");
        let (sr, _) = p.start(Slot::Priority, Request::Rearm, t0).expect("always");
        assert_eq!(p.stats().superseded, 1);
        let nack = Reply::Nack { seq: sr, code: NackCode::Estopped };
        let mut bytes = Vec::new();
        for r in [Reply::Ack { seq: se }, nack, Reply::Ack { seq: sn }] {
            bytes.extend_from_slice(&reply_wire(r));
        }
        let done = p.receive(&bytes, t0);
        let got: Vec<_> = done.iter().map(|c| (c.slot, c.request, c.result)).collect();
        assert_eq!(
            got,
            vec![(Slot::Priority, Request::Rearm, Ok(nack)), (Slot::Normal, Request::Ping, Ok(Reply::Ack { seq: sn })),]
        );
        assert_eq!(p.stats().stale_replies, 1, "the superseded EStop's ack");
    }

    #[test]
    fn garbage_is_counted_and_skipped() {
        let t0 = Instant::now();
        let mut p = Protocol::new(cfg());
        let (s, _) = p.start(Slot::Normal, Request::GetState, t0).expect("free");
        let mut bytes = vec![0x13, 0x37, 0xff, 0x00, 0x42];
        bytes.extend_from_slice(&reply_wire(Reply::Ack { seq: s }));
        assert_eq!(p.receive(&bytes, t0).len(), 1);
        assert_eq!(p.stats().resyncs, 2);
        assert_eq!(p.stats().frames_ok, 1);
    }
}

//! Fault injection on the simulated co-processor: the link resynchronises
//! after garbage, retransmits after a bad CRC or a lost reply, and reports a
//! dead peer as a clear error within its deadline instead of hanging.

#![cfg(unix)]

mod serial_common;

use std::time::{Duration, Instant};

use robot_hal::capability::{DifferentialDrive, Odometry, SafeStop};
use robot_hal::serial::{Request, SerialError};
use robot_hal::{Error, ErrorKind};
use serial_common::{eventually, pair, quiet};

#[test]
fn garbage_between_frames_is_skipped_without_losing_the_next_frame() {
    let (link, sim) = pair(quiet());
    let mut client = link.client();
    client.command(Request::Ping).expect("ping");

    // Junk with zeros in it, then a long run without any (an overrun).
    sim.inject_garbage(&[0x13, 0x00, 0x37, 0xFF, 0x02, 0x00, 0x99]);
    sim.inject_garbage(&[0x55; 150]);
    client.command(Request::Ping).expect("ping after garbage");
    let s = link.stats();
    assert!(s.resyncs >= 2 && s.overruns == 1, "{s:?}");
    // The reply's leading delimiter ended the junk, so the reply itself
    // was not lost.
    assert_eq!(s.retransmits, 0, "{s:?}");
}

#[test]
fn corrupted_crc_is_dropped_and_the_retransmission_succeeds() {
    let (link, sim) = pair(quiet());
    let mut drive = link.drive(0.16, 0.5);
    sim.corrupt_next_crc();
    drive.set_wheel_speeds(0.2, 0.1).expect("retransmission gets through");
    let s = link.stats();
    assert_eq!((s.crc_errors, s.retransmits), (1, 1), "{s:?}");
    let snap = sim.snapshot();
    assert_eq!(snap.wheels_mm_s, (200, 100));
    assert_eq!((snap.executed, snap.duplicates), (1, 1), "executed once, reply re-sent");
}

#[test]
fn dropped_replies_are_recovered_by_retransmission() {
    let (link, sim) = pair(quiet());
    let mut odo = link.odometry();
    sim.drop_next_replies(2);
    odo.pose().expect("third try answers");
    assert_eq!(link.stats().retransmits, 2);
    assert_eq!(sim.snapshot().duplicates, 2);
}

#[test]
fn too_many_dropped_replies_time_out_within_the_budget() {
    let (link, sim) = pair(quiet());
    let mut client = link.client();
    client.command(Request::Ping).expect("peer alive");
    sim.drop_next_replies(10);
    let t = Instant::now();
    let err = client.command(Request::Ping).expect_err("no reply");
    assert!(t.elapsed() <= link.timeouts().call_budget() + Duration::from_millis(500));
    // The peer is silent, so this is either verdict, never a hang.
    assert!(matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Disconnected), "{err}");
}

#[test]
fn disconnected_peer_gives_a_clear_error_then_recovers() {
    let (link, sim) = pair(quiet());
    let mut drive = link.drive(0.16, 0.5);
    drive.set_wheel_speeds(0.1, 0.1).expect("alive");
    sim.disconnect();
    let budget = link.timeouts().call_budget() + Duration::from_millis(500);
    let t = Instant::now();
    let err = drive.set_wheel_speeds(0.2, 0.2).expect_err("peer gone");
    assert!(t.elapsed() <= budget, "took {:?}", t.elapsed());
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(link.is_down());

    let t = Instant::now();
    assert_eq!(drive.stop().expect_err("still gone").kind(), ErrorKind::Disconnected);
    assert!(t.elapsed() <= budget);

    sim.reconnect();
    drive.set_wheel_speeds(0.1, 0.1).expect("back");
    assert!(!link.is_down());
    assert!(link.stats().disconnects >= 2);
}

#[test]
fn closed_port_fails_fast_with_disconnected() {
    let (link, sim) = pair(quiet());
    let mut odo = link.odometry();
    odo.pose().expect("alive");
    drop(sim);
    let stop = link.safe_stop("drive");
    assert!(eventually(Duration::from_millis(500), || link.is_down()));
    let t = Instant::now();
    let err = odo.pose().expect_err("port closed");
    assert_eq!(err, SerialError::Disconnected);
    // Answered from the link's state, without waiting out a request.
    assert!(t.elapsed() < link.timeouts().call_budget());
    // The latch still engages locally; the error says the MCU may not know.
    assert_eq!(stop.force_safe().expect_err("not delivered").kind, ErrorKind::Disconnected);
    assert!(stop.is_safe());
}

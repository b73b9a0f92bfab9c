//! Shared set-up for the serial link tests: a link and a simulated
//! co-processor on the two ends of a pseudo-terminal, with short timeouts
//! so fault tests finish in milliseconds.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use robot_hal::serial::mcu_sim::{McuSim, McuSimConfig};
use robot_hal::serial::{LinkTimeouts, SerialLink};

/// Fast timeouts; heartbeats on.
pub fn fast() -> LinkTimeouts {
    LinkTimeouts {
        reply_timeout: Duration::from_millis(20),
        max_retries: 3,
        disconnect_after: Duration::from_millis(60),
        heartbeat: Some(Duration::from_millis(20)),
        poll_interval: Duration::from_millis(1),
    }
}

/// Fast timeouts without heartbeats, so the only traffic is the test's own
/// and injected faults hit the request under test.
pub fn quiet() -> LinkTimeouts {
    LinkTimeouts { heartbeat: None, ..fast() }
}

pub fn pair(timeouts: LinkTimeouts) -> (SerialLink, McuSim) {
    McuSim::pair(McuSimConfig::default(), timeouts).expect("pty pair and threads start")
}

/// Poll `cond` until it holds or `within` passes; returns whether it held.
pub fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

//! The simulated output line records its level changes in simulated time.

mod common;

use std::time::Duration;

use robot_hal::capability::{Clock, OutputPin};
use robot_sim::SimOutputPin;

#[test]
fn motor_enable_records_changes_with_simulated_time() {
    let (sim, _dev) = common::sim(1);
    let probe = SimOutputPin::motor_enable(&sim);
    let mut pin = probe.clone();
    assert_eq!(probe.name(), "motor-enable");
    assert!(!probe.is_set_high(), "starts disabled");
    sim.clock().sleep(Duration::from_millis(100));
    pin.set_high().expect("enable");
    pin.set_high().expect("enable again");
    sim.clock().sleep(Duration::from_millis(250));
    pin.set_low().expect("disable");
    assert!(!probe.is_set_high());
    assert_eq!(probe.changes(), vec![(Duration::from_millis(100), true), (Duration::from_millis(350), false)]);
}

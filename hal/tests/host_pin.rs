//! The recording output line: clones share the line, every write is kept.

use robot_hal::capability::erased::{DynOutput, Erased};
use robot_hal::host::RecordingOutputPin;

#[test]
fn records_level_and_writes_through_a_boxed_handle() {
    let probe = RecordingOutputPin::new(false);
    let mut boxed: DynOutput = Box::new(Erased(probe.clone()));
    assert!(!probe.is_set_high());
    boxed.set_high().expect("set high");
    assert!(probe.is_set_high());
    boxed.set_high().expect("set high");
    boxed.set_low().expect("set low");
    assert!(!probe.is_set_high());
    assert_eq!(probe.writes(), vec![true, true, false]);
    assert_eq!(probe.write_count(), 3);
}

#[test]
fn keeps_only_the_latest_writes() {
    use robot_hal::capability::OutputPin;
    let mut pin = RecordingOutputPin::new(true);
    for i in 0..robot_hal::host::KEPT_WRITES + 10 {
        let r = if i % 2 == 0 { pin.set_low() } else { pin.set_high() };
        assert!(r.is_ok());
    }
    assert_eq!(pin.writes().len(), robot_hal::host::KEPT_WRITES);
    assert_eq!(pin.write_count(), robot_hal::host::KEPT_WRITES as u64 + 10);
    assert_eq!(pin.writes().last(), Some(&true));
}

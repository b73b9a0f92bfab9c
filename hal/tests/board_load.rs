use robot_hal::board::{BoardFile, Level};

#[test]
fn sim_rover_board_loads() {
    let b = BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap();
    assert_eq!(b.autonomy.cap, Level::L4);
    let reg = b.registry();
    assert_eq!(reg.len(), 17);
    assert!(b.place("home").is_some());
}

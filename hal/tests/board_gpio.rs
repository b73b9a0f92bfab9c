//! The `[gpio]` section of `raspberry-pi` and `linux-gpio` boards: the
//! shipped board files pass, and broken ones are refused with a message
//! that names the problem at the line of the offending key.

use std::path::Path;

use robot_hal::board::{Backend, BoardError, BoardFile};

fn boards_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards"))
}

fn rpi4() -> String {
    std::fs::read_to_string(boards_dir().join("rpi4-rover.toml")).expect("boards/rpi4-rover.toml is readable")
}

/// Replace the one line that starts with `key =` and return the text and that line's 1-based number.
fn with_line(src: &str, key: &str, new: &str) -> (String, usize) {
    let mut at = None;
    let lines: Vec<String> = src
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if l.starts_with(&format!("{key} =")) {
                assert!(at.is_none(), "`{key}` appears twice");
                at = Some(i + 1);
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    (lines.join("\n"), at.unwrap_or_else(|| panic!("no line `{key} =`")))
}

fn refused(src: &str) -> (usize, String) {
    match BoardFile::parse_str(src, "broken.toml") {
        Err(BoardError::Invalid { line, message, path, .. }) => {
            assert_eq!(path, "broken.toml");
            (line, message)
        }
        other => panic!("expected an invalid board, got {other:?}"),
    }
}

#[test]
fn shipped_gpio_boards_pass_the_checker() {
    for (file, backend) in [
        ("rpi4-rover.toml", Backend::RaspberryPi),
        ("rpi5-rover.toml", Backend::RaspberryPi),
        ("jetson-orin-nano-rover.toml", Backend::LinuxGpio),
    ] {
        let board = BoardFile::load(boards_dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(board.board.backend, backend, "{file}");
        let gpio = board.gpio.as_ref().expect("a [gpio] section");
        assert_eq!(board.kill_switch.line, format!("gpio:{}", gpio.kill_switch_pin.expect("kill-switch pin")));
    }
}

#[test]
fn conflicting_pin_names_both_uses() {
    let (src, line) = with_line(&rpi4(), "motor_enable_pin", "motor_enable_pin = 17");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("pin 17 is used twice"), "{message}");
    assert!(message.contains("gpio.kill_switch_pin") && message.contains("gpio.motor_enable_pin"), "{message}");
}

#[test]
fn led_pin_on_a_direction_pin_is_a_conflict() {
    let (src, line) = with_line(&rpi4(), "led_pins", "led_pins = [23, 6, 25]");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("gpio.left_motor.in2") && message.contains("gpio.led_pins (green)"), "{message}");
}

#[test]
fn unknown_pin_is_refused() {
    let (src, line) = with_line(&rpi4(), "motor_enable_pin", "motor_enable_pin = 40");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("pin 40 does not exist") && message.contains("BCM GPIO 0 to 27"), "{message}");
}

#[test]
fn missing_kill_switch_pin_is_refused_at_the_gpio_section() {
    let (src, _) = with_line(&rpi4(), "kill_switch_pin", "");
    let gpio_line = src.lines().position(|l| l.trim() == "[gpio]").expect("[gpio]") + 1;
    let (at, message) = refused(&src);
    assert_eq!(at, gpio_line);
    assert!(message.contains("gpio.kill_switch_pin is missing"), "{message}");
}

#[test]
fn kill_switch_line_must_name_the_pin() {
    let (src, line) = with_line(&rpi4(), "line", "line = \"gpio:4\"");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("must be \"gpio:17\""), "{message}");
}

#[test]
fn missing_motor_enable_is_refused() {
    let (src, _) = with_line(&rpi4(), "motor_enable_pin", "");
    let (_, message) = refused(&src);
    assert!(message.contains("gpio.motor_enable_pin is missing"), "{message}");
}

#[test]
fn two_outputs_on_one_hardware_pwm_channel_are_refused() {
    // BCM 18 is channel 0 on a Pi 4, which BCM 12 (the left motor) already drives.
    let (src, line) = with_line(&rpi4(), "gripper_servo_pwm", "gripper_servo_pwm = { pin = 18 }");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("hardware PWM channel 0") && message.contains("gpio.left_motor.pwm"), "{message}");
}

#[test]
fn i2c_bus_one_reserves_its_pins() {
    let (src, line) = with_line(&rpi4(), "led_pins", "led_pins = [2, 24, 25]");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("I2C bus 1 (SDA)"), "{message}");
}

#[test]
fn unknown_gpio_key_is_refused() {
    let src = rpi4().replace("motor_enable_pin = 27", "motor_enable_pin = 27\nmotor_brake_pin = 16");
    let (_, message) = refused(&src);
    assert!(message.contains("unknown field `motor_brake_pin`"), "{message}");
}

#[test]
fn gpio_backend_without_gpio_section_is_refused() {
    let src = rpi4();
    let cut = src.find("[gpio]").expect("[gpio]");
    let end = src.find("[[places]]").expect("[[places]]");
    let src = format!("{}{}", &src[..cut], &src[end..]);
    let (_, message) = refused(&src);
    assert!(message.contains("backend \"raspberry-pi\" needs a [gpio] section"), "{message}");
}

#[test]
fn linux_gpio_needs_hardware_pwm_and_a_chip() {
    let jetson = std::fs::read_to_string(boards_dir().join("jetson-orin-nano-rover.toml")).expect("readable");
    let (src, line) = with_line(&jetson, "left_motor", "left_motor = { pwm = { pin = 85 }, in1 = 105, in2 = 106 }");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("linux-gpio has hardware PWM only"), "{message}");
    let (src, _) = with_line(&jetson, "chip", "");
    let (_, message) = refused(&src);
    assert!(message.contains("needs gpio.chip"), "{message}");
    let (src, line) = with_line(&jetson, "motor_enable_pin", "motor_enable_pin = 2000");
    let (at, message) = refused(&src);
    assert_eq!(at, line);
    assert!(message.contains("line offsets 0 to 1023"), "{message}");
}

#[test]
fn shipped_gpio_boards_have_encoders_and_sensors() {
    for file in ["rpi4-rover.toml", "rpi5-rover.toml", "jetson-orin-nano-rover.toml"] {
        let board = BoardFile::load(boards_dir().join(file)).unwrap_or_else(|e| panic!("{e}"));
        let g = board.gpio.expect("a [gpio] section");
        let e = g.encoders.expect("wheel encoders");
        assert!(e.left.b.is_some() && e.right.b.is_some(), "{file}: quadrature encoders");
        assert!(g.i2c_bus.is_some() && g.imu_addr.is_some() && g.battery_monitor_addr.is_some(), "{file}");
        assert!(g.thermal_zone.is_some(), "{file}");
    }
}

#[test]
fn encoder_pin_on_a_motor_pin_is_a_conflict() {
    let (src, line) = with_line(&rpi4(), "left", "left = { a = 5, b = 26 }");
    let (at, msg) = refused(&src);
    assert_eq!(at, line);
    assert_eq!(msg, "pin 5 is used twice: by gpio.left_motor.in1 and by gpio.encoders.left.a");
}

#[test]
fn encoder_pin_on_the_i2c_bus_is_a_conflict() {
    let (src, line) = with_line(&rpi4(), "right", "right = { a = 7, b = 3 }");
    let (at, msg) = refused(&src);
    assert_eq!(at, line);
    assert!(msg.starts_with("pin 3 is used twice: by I2C bus 1 (SCL) and by gpio.encoders.right.b"), "{msg}");
}

#[test]
fn encoders_must_match_and_have_a_geometry() {
    let (src, line) = with_line(&rpi4(), "right", "right = { a = 7 }");
    assert_eq!(refused(&src), (line, "gpio.encoders: give channel b for both wheels or for neither".into()));
    let (src, line) = with_line(&rpi4(), "wheel_diameter_m", "wheel_diameter_m = 0.0");
    assert_eq!(refused(&src), (line, "gpio.encoders.wheel_diameter_m must be positive, got 0".into()));
}

#[test]
fn imu_address_clash_and_bad_battery_voltages_are_refused() {
    let (src, line) = with_line(&rpi4(), "imu_addr", "imu_addr = 0x29");
    let (at, msg) = refused(&src);
    assert_eq!(at, line);
    assert!(msg.starts_with("I2C address 0x29 is used twice: by gpio.range_sensor_addr and by gpio.imu_addr"), "{msg}");
    let (src, line) = with_line(&rpi4(), "battery_full_v", "battery_full_v = 6.0");
    assert_eq!(refused(&src), (line, "gpio.battery_empty_v must be positive and below gpio.battery_full_v".into()));
    let (src, line) = with_line(&rpi4(), "thermal_zone", "thermal_zone = \"/tmp/temp\"");
    assert_eq!(refused(&src).0, line);
}

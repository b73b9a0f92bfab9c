//! Checks of the `[gpio]` section of `raspberry-pi` and `linux-gpio`
//! boards: every pin exists on the board type, no pin is used twice (the
//! message names both uses), PWM outputs are valid for the backend, and the
//! kill-switch and motor-enable pins are present, with `kill_switch.line`
//! naming the kill-switch pin as `gpio:<pin>`. Wheel-encoder lines count
//! as pins like any other (an encoder on a motor pin is refused), and the
//! encoder geometry, I2C addresses, battery voltages and thermal zone are
//! checked for sense.

use std::collections::HashMap;

use super::{Checker, Seg, Seg::At, Seg::Key};
use crate::board::file::{Backend, BoardFile, EncoderConfig, GpioConfig, MotorPins, PwmOutput};
use crate::gpio::pins::{linux_gpio_pin_exists, rpi_hw_pwm_channel, rpi_pin_exists, LINUX_GPIO_MAX_LINE, RPI_MAX_BCM};

/// A pin and where the board file assigns it.
struct Use {
    pin: u32,
    what: String,
    at: Vec<Seg<'static>>,
}

/// A PWM output, its name for messages and where it is declared.
type Pwm<'a> = (&'a PwmOutput, String, Vec<Seg<'static>>);

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sim => "sim",
        Backend::Serial => "serial",
        Backend::RaspberryPi => "raspberry-pi",
        Backend::LinuxGpio => "linux-gpio",
    }
}

pub(super) fn check(board: &BoardFile, c: &mut Checker<'_>) {
    let backend = board.board.backend;
    let name = backend_name(backend);
    let Some(g) = &board.gpio else {
        if backend.uses_gpio() {
            c.err(&[Key("board"), Key("backend")], format!("backend \"{name}\" needs a [gpio] section"));
        }
        return;
    };
    if !backend.uses_gpio() {
        c.err(&[Key("gpio")], format!("[gpio] is for backends raspberry-pi and linux-gpio, not \"{name}\""));
        return;
    }
    match (backend, &g.chip) {
        (Backend::LinuxGpio, None) => {
            c.err(&[Key("gpio")], "backend \"linux-gpio\" needs gpio.chip, e.g. \"/dev/gpiochip0\"".into())
        }
        (Backend::LinuxGpio, Some(chip)) if !chip.starts_with("/dev/") => {
            c.err(&[Key("gpio"), Key("chip")], format!("gpio.chip `{chip}` must be a device path like /dev/gpiochip0"))
        }
        (Backend::RaspberryPi, Some(_)) => c.err(
            &[Key("gpio"), Key("chip")],
            "gpio.chip is for linux-gpio; a Raspberry Pi's GPIO chip is found by rppal".into(),
        ),
        _ => {}
    }

    let mut uses = Vec::new();
    match g.kill_switch_pin {
        Some(pin) => {
            uses.push(Use { pin, what: "gpio.kill_switch_pin".into(), at: vec![Key("gpio"), Key("kill_switch_pin")] });
            let want = format!("gpio:{pin}");
            if board.kill_switch.line.trim() != want {
                c.err(
                    &[Key("kill_switch"), Key("line")],
                    format!(
                        "kill_switch.line is `{}` but gpio.kill_switch_pin is {pin}: it must be \"{want}\"",
                        board.kill_switch.line
                    ),
                );
            }
        }
        None => c.err(
            &[Key("gpio")],
            format!("gpio.kill_switch_pin is missing: backend \"{name}\" reads the kill-switch on a GPIO pin"),
        ),
    }
    match g.motor_enable_pin {
        Some(pin) => {
            uses.push(Use { pin, what: "gpio.motor_enable_pin".into(), at: vec![Key("gpio"), Key("motor_enable_pin")] })
        }
        None => c.err(
            &[Key("gpio")],
            "gpio.motor_enable_pin is missing: the safe stop drops it to cut the motor driver".into(),
        ),
    }
    let mut pwms: Vec<Pwm<'_>> = Vec::new();
    for (side, m) in [("left_motor", &g.left_motor), ("right_motor", &g.right_motor)] {
        motor_uses(side, m, &mut uses, &mut pwms, c);
    }
    if let Some(s) = &g.gripper_servo_pwm {
        let at = vec![Key("gpio"), Key("gripper_servo_pwm")];
        pwms.push((s, "gpio.gripper_servo_pwm".into(), at));
        for (key, us) in [("gripper_open_us", g.gripper_open_us), ("gripper_closed_us", g.gripper_closed_us)] {
            if !(500..=2500).contains(&us) {
                c.err(&[Key("gpio"), Key(key)], format!("gpio.{key} must be a servo pulse of 500 to 2500 µs"));
            }
        }
    }
    for (out, what, at) in &pwms {
        let mut pin_at = at.clone();
        pin_at.push(Key("pin"));
        uses.push(Use { pin: out.pin, what: what.clone(), at: pin_at });
    }
    // Before the encoders and LEDs, so a clash is reported at the line that takes a bus pin.
    i2c(backend, g, &mut uses, c);
    if let Some(e) = &g.encoders {
        encoders(e, &mut uses, c);
    }
    if !(g.battery_empty_v.is_finite() && g.battery_empty_v > 0.0 && g.battery_full_v > g.battery_empty_v) {
        c.err(
            &[Key("gpio"), Key("battery_full_v")],
            "gpio.battery_empty_v must be positive and below gpio.battery_full_v".into(),
        );
    }
    if let Some(zone) = &g.thermal_zone {
        if !zone.starts_with("/sys/") {
            c.err(
                &[Key("gpio"), Key("thermal_zone")],
                format!("gpio.thermal_zone `{zone}` must be a sysfs file like /sys/class/thermal/thermal_zone0/temp"),
            );
        }
    }
    if let Some(leds) = g.led_pins {
        for (i, (pin, colour)) in leds.into_iter().zip(["red", "green", "blue"]).enumerate() {
            uses.push(Use {
                pin,
                what: format!("gpio.led_pins ({colour})"),
                at: vec![Key("gpio"), Key("led_pins"), At(i)],
            });
        }
    }

    // Every pin exists and is used once.
    let mut first: HashMap<u32, usize> = HashMap::new();
    for (i, u) in uses.iter().enumerate() {
        let exists = match backend {
            Backend::RaspberryPi => rpi_pin_exists(u.pin),
            _ => linux_gpio_pin_exists(u.pin),
        };
        if !exists {
            let range = match backend {
                Backend::RaspberryPi => format!("a Raspberry Pi has BCM GPIO 0 to {RPI_MAX_BCM}"),
                _ => format!("linux-gpio accepts line offsets 0 to {LINUX_GPIO_MAX_LINE}"),
            };
            c.err(&u.at, format!("{}: pin {} does not exist ({range})", u.what, u.pin));
            continue;
        }
        match first.get(&u.pin) {
            Some(&j) => {
                let other = &uses[j].what;
                c.err(&u.at, format!("pin {} is used twice: by {other} and by {}", u.pin, u.what))
            }
            None => {
                first.insert(u.pin, i);
            }
        }
    }
    pwm_outputs(backend, &pwms, c);
}

fn motor_uses<'a>(
    side: &'static str,
    m: &'a MotorPins,
    uses: &mut Vec<Use>,
    pwms: &mut Vec<Pwm<'a>>,
    c: &mut Checker<'_>,
) {
    pwms.push((&m.pwm, format!("gpio.{side}.pwm"), vec![Key("gpio"), Key(side), Key("pwm")]));
    for (key, pin) in [("in1", m.in1), ("in2", m.in2)] {
        uses.push(Use { pin, what: format!("gpio.{side}.{key}"), at: vec![Key("gpio"), Key(side), Key(key)] });
    }
    if !(m.frequency_hz.is_finite() && m.frequency_hz > 0.0 && m.frequency_hz <= 50_000.0) {
        c.err(
            &[Key("gpio"), Key(side), Key("frequency_hz")],
            format!("gpio.{side}.frequency_hz must be in (0, 50000], got {}", m.frequency_hz),
        );
    }
}

/// Encoder lines are pins; the geometry must be positive and both wheels
/// alike (one with a B channel and one without would count at different rates).
fn encoders(e: &EncoderConfig, uses: &mut Vec<Use>, c: &mut Checker<'_>) {
    for (side, pins) in [("left", &e.left), ("right", &e.right)] {
        let at = |k: &'static str| vec![Key("gpio"), Key("encoders"), Key(side), Key(k)];
        uses.push(Use { pin: pins.a, what: format!("gpio.encoders.{side}.a"), at: at("a") });
        if let Some(b) = pins.b {
            uses.push(Use { pin: b, what: format!("gpio.encoders.{side}.b"), at: at("b") });
        }
    }
    if e.left.b.is_some() != e.right.b.is_some() {
        c.err(
            &[Key("gpio"), Key("encoders"), Key("right")],
            "gpio.encoders: give channel b for both wheels or for neither".into(),
        );
    }
    for (key, v) in [("pulses_per_rev", e.pulses_per_rev), ("wheel_diameter_m", e.wheel_diameter_m)] {
        if !(v.is_finite() && v > 0.0) {
            c.err(&[Key("gpio"), Key("encoders"), Key(key)], format!("gpio.encoders.{key} must be positive, got {v}"));
        }
    }
}

/// I2C sensor addresses; on a Pi, bus 1 occupies BCM 2 (SDA) and 3 (SCL).
fn i2c(backend: Backend, g: &GpioConfig, uses: &mut Vec<Use>, c: &mut Checker<'_>) {
    let addrs = [
        ("battery_monitor_addr", g.battery_monitor_addr),
        ("range_sensor_addr", g.range_sensor_addr),
        ("imu_addr", g.imu_addr),
    ];
    let mut seen: Vec<(u8, &str)> = Vec::new();
    for (key, addr) in addrs {
        let Some(addr) = addr else { continue };
        let at = [Key("gpio"), Key(key)];
        if g.i2c_bus.is_none() {
            c.err(&at, format!("gpio.{key} needs gpio.i2c_bus"));
        }
        if !(0x08..=0x77).contains(&addr) {
            c.err(&at, format!("gpio.{key} {addr:#04x} is not a 7-bit device address (0x08 to 0x77)"));
        }
        if let Some((_, other)) = seen.iter().find(|(a, _)| *a == addr) {
            c.err(&at, format!("I2C address {addr:#04x} is used twice: by gpio.{other} and by gpio.{key}"));
        }
        seen.push((addr, key));
    }
    if backend == Backend::RaspberryPi && g.i2c_bus == Some(1) {
        for (pin, line) in [(2, "SDA"), (3, "SCL")] {
            uses.push(Use { pin, what: format!("I2C bus 1 ({line})"), at: vec![Key("gpio"), Key("i2c_bus")] });
        }
    }
}

fn pwm_outputs(backend: Backend, pwms: &[Pwm<'_>], c: &mut Checker<'_>) {
    let mut channels: Vec<(String, u32, String)> = Vec::new();
    for (out, what, at) in pwms {
        let key = |k: &'static str| {
            let mut v = at.clone();
            v.push(Key(k));
            v
        };
        match backend {
            Backend::RaspberryPi => {
                if out.pwm_chip.is_some() || out.channel.is_some() {
                    c.err(
                        &key(if out.pwm_chip.is_some() { "pwm_chip" } else { "channel" }),
                        format!("{what}: on a Raspberry Pi the PWM channel follows from the pin; give only `pin`"),
                    );
                }
                // The Pi 4 mapping, so the file also runs on a Pi 4 (see gpio::pins).
                if let Some(ch) = rpi_hw_pwm_channel(out.pin, false) {
                    let id = format!("hardware PWM channel {ch}");
                    if let Some((_, pin, other)) = channels.iter().find(|(k, _, _)| *k == id) {
                        c.err(
                            &key("pin"),
                            format!("{what}: pin {} is {id}, already driven by {other} on pin {pin}", out.pin),
                        );
                    }
                    channels.push((id, out.pin, what.clone()));
                }
            }
            _ => match (&out.pwm_chip, out.channel) {
                (Some(chip), Some(ch)) => {
                    if !chip.starts_with("/sys/class/pwm/pwmchip") {
                        c.err(
                            &key("pwm_chip"),
                            format!("{what}: pwm_chip `{chip}` must be a path like /sys/class/pwm/pwmchip0"),
                        );
                    }
                    let id = format!("{chip} channel {ch}");
                    if let Some((_, pin, other)) = channels.iter().find(|(k, _, _)| *k == id) {
                        c.err(&key("channel"), format!("{what}: {id} is already driven by {other} (pin {pin})"));
                    }
                    channels.push((id, out.pin, what.clone()));
                }
                _ => c.err(
                    &key("pin"),
                    format!("{what}: linux-gpio has hardware PWM only; give pwm_chip and channel (sysfs PWM)"),
                ),
            },
        }
    }
}

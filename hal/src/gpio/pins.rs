//! Which pins exist on each GPIO board type and which carry hardware PWM.
//!
//! A Raspberry Pi's header exposes BCM GPIO 0 to 27 (on the Pi 5 they are
//! lines of the RP1 chip with the same numbers). Hardware PWM comes out on
//! four of them, and the channel a pin drives depends on the model:
//!
//! | BCM pin | Pi 4 (`dtoverlay=pwm-2chan`) | Pi 5 (RP1) |
//! |--------:|:----:|:----:|
//! | 12 | 0 | 0 |
//! | 13 | 1 | 1 |
//! | 18 | 0 | 2 |
//! | 19 | 1 | 3 |
//!
//! The board checker applies the Pi 4 column, the stricter one, so a file
//! that passes runs on both models. A `linux-gpio` line is an offset on one
//! character device; the kernel decides how many a chip has, so the checker
//! only bounds it by [`LINUX_GPIO_MAX_LINE`] and the backend reports a line
//! the chip lacks when it requests it.

/// Highest BCM GPIO number on the 40-pin header of a Raspberry Pi.
pub const RPI_MAX_BCM: u32 = 27;

/// Highest line offset the checker accepts for `linux-gpio` (the Jetson
/// Orin's main controller has 164 lines; 1023 leaves room for any board).
pub const LINUX_GPIO_MAX_LINE: u32 = 1023;

/// Whether `pin` is a BCM GPIO on the Raspberry Pi header.
pub fn rpi_pin_exists(pin: u32) -> bool {
    pin <= RPI_MAX_BCM
}

/// Whether `pin` is an acceptable line offset for `linux-gpio`.
pub fn linux_gpio_pin_exists(pin: u32) -> bool {
    pin <= LINUX_GPIO_MAX_LINE
}

/// The hardware PWM channel a BCM pin drives, or `None` when the pin has
/// none (and a PWM output there is software PWM). `pi5` selects the RP1
/// mapping, where each of the four pins has its own channel.
pub fn rpi_hw_pwm_channel(pin: u32, pi5: bool) -> Option<u8> {
    match (pin, pi5) {
        (12, _) => Some(0),
        (13, _) => Some(1),
        (18, false) => Some(0),
        (19, false) => Some(1),
        (18, true) => Some(2),
        (19, true) => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_pins() {
        assert!(rpi_pin_exists(0) && rpi_pin_exists(27));
        assert!(!rpi_pin_exists(28));
        assert!(linux_gpio_pin_exists(144) && !linux_gpio_pin_exists(1024));
    }

    #[test]
    fn pwm_channels_follow_the_model() {
        assert_eq!(rpi_hw_pwm_channel(18, false), Some(0));
        assert_eq!(rpi_hw_pwm_channel(18, true), Some(2));
        assert_eq!(rpi_hw_pwm_channel(19, true), Some(3));
        assert_eq!(rpi_hw_pwm_channel(13, false), Some(1));
        assert_eq!(rpi_hw_pwm_channel(17, false), None);
        // The Pi 4 pairs share a channel; the Pi 5 separates them.
        assert_eq!(rpi_hw_pwm_channel(12, false), rpi_hw_pwm_channel(18, false));
        assert_ne!(rpi_hw_pwm_channel(12, true), rpi_hw_pwm_channel(18, true));
    }
}

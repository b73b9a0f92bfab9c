//! The board file's structure, as deserialised from TOML.

use serde::{Deserialize, Serialize};

use crate::tools::ToolSpec;

/// A whole board file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    pub board: BoardInfo,
    pub autonomy: AutonomyConfig,
    pub rules: Rules,
    pub drive: DriveConfig,
    #[serde(default)]
    pub verify: VerifyConfig,
    pub kill_switch: KillSwitchConfig,
    #[serde(default)]
    pub sim: Option<SimConfig>,
    #[serde(default)]
    pub serial: Option<SerialConfig>,
    /// Pins of a board whose devices hang off its own GPIO header
    /// (backends `raspberry-pi` and `linux-gpio`).
    #[serde(default)]
    pub gpio: Option<GpioConfig>,
    #[serde(default)]
    pub places: Vec<PlaceDecl>,
    #[serde(default)]
    pub navigation: NavigationConfig,
    /// Intermediate points of the roadmap that are not places (doorways).
    #[serde(default)]
    pub waypoints: Vec<PlaceDecl>,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// The file this board was loaded from, for error messages.
    #[serde(skip)]
    pub path: Option<std::path::PathBuf>,
}

/// Which implementation drives the devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// The desktop simulator.
    Sim,
    /// A motor/sensor co-processor on a serial port.
    Serial,
    /// A Raspberry Pi (4 or 5) driving a motor driver, servo and LED from its
    /// GPIO header through `rppal` (`[gpio]` pins are BCM numbers).
    RaspberryPi,
    /// Any Linux board (Jetson, ...) through the GPIO character device and
    /// sysfs PWM (`[gpio]` pins are line offsets on `gpio.chip`).
    LinuxGpio,
}

impl Backend {
    /// Whether the board's devices are wired to its own GPIO header.
    pub fn uses_gpio(self) -> bool {
        matches!(self, Backend::RaspberryPi | Backend::LinuxGpio)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub backend: Backend,
    pub robot_id: String,
}

/// An autonomy level, L0 (manual) to L5 (full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
}

impl Level {
    pub const ALL: [Level; 6] = [Level::L0, Level::L1, Level::L2, Level::L3, Level::L4, Level::L5];

    pub fn as_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(n: u8) -> Option<Level> {
        Level::ALL.get(n as usize).copied()
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L{}", self.as_u8())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let digits = t.strip_prefix('L').or_else(|| t.strip_prefix('l')).unwrap_or(t);
        digits
            .parse::<u8>()
            .ok()
            .and_then(Level::from_u8)
            .ok_or_else(|| format!("unknown autonomy level `{s}` (expected L0 to L5)"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutonomyConfig {
    /// The highest level this robot may ever run at.
    pub cap: Level,
    /// The level the robot starts at.
    pub default: Level,
    /// At L3, how long the robot waits for an operator to take over after it
    /// asked, before it reaches a safe stop on its own (seconds).
    #[serde(default = "default_takeover")]
    pub takeover_timeout_s: f64,
    /// At L2 and below the operator link is required: heartbeat period after
    /// which a silent link counts as lost (seconds).
    #[serde(default = "default_heartbeat")]
    pub operator_heartbeat_s: f64,
}

fn default_takeover() -> f64 {
    10.0
}
fn default_heartbeat() -> f64 {
    2.0
}

/// Safety rules checked before a program starts and monitored while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub max_speed_mps: f64,
    pub max_turn_rate_dps: f64,
    /// Longest single drive, metres.
    pub max_single_move_m: f64,
    /// Battery charge (0..1) below which motion is refused.
    pub min_battery_for_motion: f64,
    /// Polygon (x, y in metres, odometry frame) the robot must stay inside.
    #[serde(default)]
    pub geofence: Vec<[f64; 2]>,
    #[serde(default)]
    pub forbidden_tools: Vec<String>,
    /// Longest program, in unrolled steps.
    #[serde(default = "default_max_steps")]
    pub max_steps: usize,
}

fn default_max_steps() -> usize {
    200
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    pub track_width_m: f64,
    pub max_wheel_speed_mps: f64,
    pub default_speed_mps: f64,
    /// Turn rate used for turn-in-place, degrees per second.
    #[serde(default = "default_turn_rate")]
    pub turn_rate_dps: f64,
}

fn default_turn_rate() -> f64 {
    60.0
}

/// Tolerances the executor uses to verify each step against sensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    pub distance_tolerance_m: f64,
    pub heading_tolerance_deg: f64,
    pub place_tolerance_m: f64,
    /// Retries after a failed verification before the program stops.
    pub retries: u32,
    /// Default per-step timeout when a tool declares none, seconds.
    pub step_timeout_s: f64,
    /// Control loop period, milliseconds.
    pub control_period_ms: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            distance_tolerance_m: 0.05,
            heading_tolerance_deg: 3.0,
            place_tolerance_m: 0.25,
            retries: 1,
            step_timeout_s: 60.0,
            control_period_ms: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillSwitchConfig {
    /// Backend-specific line name: `sim:estop`, `serial:estop`, `gpio:17`.
    pub line: String,
    /// The switch pulls the line low when pressed (and a broken wire reads low too).
    #[serde(default = "yes")]
    pub active_low: bool,
    /// The line must read released this long before a reset is accepted.
    #[serde(default = "default_debounce")]
    pub debounce_ms: u64,
}

fn yes() -> bool {
    true
}
fn default_debounce() -> u64 {
    20
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of wheel odometry error, as a fraction of distance.
    #[serde(default = "default_noise")]
    pub odometry_noise: f64,
    /// Battery drain while driving, fraction of charge per metre.
    #[serde(default = "default_drain")]
    pub battery_drain_per_m: f64,
    #[serde(default = "full")]
    pub initial_battery: f64,
    /// Physics step, milliseconds.
    #[serde(default = "default_step")]
    pub step_ms: u64,
}

fn default_noise() -> f64 {
    0.002
}
fn default_drain() -> f64 {
    0.002
}
fn full() -> f64 {
    1.0
}
fn default_step() -> u64 {
    5
}

/// A motor/sensor co-processor on a serial port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialConfig {
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default = "default_serial_timeout")]
    pub timeout_ms: u64,
}

fn default_baud() -> u32 {
    115_200
}
fn default_serial_timeout() -> u64 {
    50
}

/// A named pose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceDecl {
    pub name: String,
    pub x: f64,
    pub y: f64,
    #[serde(default)]
    pub heading_deg: Option<f64>,
    /// Other names that mean this place (`home`, `charger` for the dock).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The navigation roadmap.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavigationConfig {
    /// Pairs of waypoint or place names the robot can drive between in a
    /// straight line.
    #[serde(default)]
    pub roadmap: Vec<[String; 2]>,
}

/// The GPIO wiring of a `raspberry-pi` or `linux-gpio` board. Pin numbers
/// are BCM GPIO numbers on a Raspberry Pi and line offsets of `chip` on
/// `linux-gpio`; every pin may be used once. See `boards/README.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioConfig {
    /// The GPIO character device (`linux-gpio` only), e.g. `/dev/gpiochip0`.
    #[serde(default)]
    pub chip: Option<String>,
    /// Input that reads the safety relay's state (pull-up, active low).
    /// Required; optional here so the checker can say so at the right place.
    #[serde(default)]
    pub kill_switch_pin: Option<u32>,
    /// Output that enables the motor driver (TB6612 `STBY`); dropped on a stop.
    #[serde(default)]
    pub motor_enable_pin: Option<u32>,
    pub left_motor: MotorPins,
    pub right_motor: MotorPins,
    /// Servo signal of the gripper; a board without one has no gripper.
    #[serde(default)]
    pub gripper_servo_pwm: Option<PwmOutput>,
    /// Servo pulse widths for open and closed jaws, microseconds.
    #[serde(default = "default_servo_open")]
    pub gripper_open_us: u32,
    #[serde(default = "default_servo_closed")]
    pub gripper_closed_us: u32,
    /// I2C bus number (`/dev/i2c-N`) of the sensors below.
    #[serde(default)]
    pub i2c_bus: Option<u8>,
    /// 7-bit address of an INA219 battery monitor on `i2c_bus`.
    #[serde(default)]
    pub battery_monitor_addr: Option<u8>,
    /// 7-bit address of a VL53L0X range sensor on `i2c_bus`.
    #[serde(default)]
    pub range_sensor_addr: Option<u8>,
    /// 7-bit address of a BNO055 IMU on `i2c_bus`; its heading replaces the
    /// wheels' estimate in the odometry.
    #[serde(default)]
    pub imu_addr: Option<u8>,
    /// Battery voltage read as empty (charge 0) and full (charge 1).
    #[serde(default = "default_battery_empty")]
    pub battery_empty_v: f64,
    #[serde(default = "default_battery_full")]
    pub battery_full_v: f64,
    /// Thermal-zone file of the SoC temperature (millidegrees), e.g.
    /// `/sys/class/thermal/thermal_zone0/temp`; without it, no thermometer.
    #[serde(default)]
    pub thermal_zone: Option<String>,
    /// Wheel encoders; a board without them has no odometry, so it cannot
    /// run `drive`, `turn` or `dock`.
    #[serde(default)]
    pub encoders: Option<EncoderConfig>,
    /// Red, green and blue LED pins (on/off each).
    #[serde(default)]
    pub led_pins: Option<[u32; 3]>,
}

fn default_battery_empty() -> f64 {
    6.4
}
fn default_battery_full() -> f64 {
    8.4
}

/// Wheel encoders: one per wheel, channel A and optionally B (quadrature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderConfig {
    pub left: EncoderPins,
    pub right: EncoderPins,
    /// Pulses on channel A per wheel revolution: the encoder's PPR at the
    /// motor shaft times the gearbox ratio. Both edges of A (and of B) are
    /// counted, so a revolution is 2× (4× with B) this many counts.
    pub pulses_per_rev: f64,
    pub wheel_diameter_m: f64,
}

/// The lines of one wheel encoder. Without `b` the direction is taken
/// from the drive's command; swap `a` and `b` if a wheel counts backwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderPins {
    pub a: u32,
    #[serde(default)]
    pub b: Option<u32>,
}

fn default_servo_open() -> u32 {
    1000
}
fn default_servo_closed() -> u32 {
    2000
}

/// One motor channel of an H-bridge driver (TB6612FNG, L298N): a PWM speed
/// input and two direction inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotorPins {
    pub pwm: PwmOutput,
    /// Direction inputs (`AIN1`/`AIN2` on a TB6612, `IN1`/`IN2` on an L298N).
    pub in1: u32,
    pub in2: u32,
    /// The motor is mounted mirrored: forward swaps `in1` and `in2`.
    #[serde(default)]
    pub reversed: bool,
    /// PWM frequency, hertz.
    #[serde(default = "default_motor_hz")]
    pub frequency_hz: f64,
}

fn default_motor_hz() -> f64 {
    1000.0
}

/// A PWM output. On a Raspberry Pi, `pin` 12, 13, 18 or 19 is hardware PWM
/// (channel derived from the pin) and any other pin is software PWM. On
/// `linux-gpio` the output is a sysfs PWM channel (`pwm_chip`, `channel`)
/// and `pin` names the header line it comes out on, so no one else uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PwmOutput {
    pub pin: u32,
    /// `linux-gpio`: the sysfs PWM chip, e.g. `/sys/class/pwm/pwmchip0`.
    #[serde(default)]
    pub pwm_chip: Option<String>,
    /// `linux-gpio`: the channel on `pwm_chip`.
    #[serde(default)]
    pub channel: Option<u32>,
}

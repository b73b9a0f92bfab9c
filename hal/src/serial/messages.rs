//! The messages carried by the serial link, in both directions.
//!
//! These types *are* the wire protocol: their postcard encoding (variant
//! index as a varint, integers as varints, `i*` zig-zag encoded, `bool` as
//! one byte) is what the firmware parses, so variants and fields may only be
//! appended, never reordered. The table in the [`super`] module docs lists
//! them with their indices.

use serde::{Deserialize, Serialize};

/// One frame on the wire: a sequence number and a message.
///
/// Host frames carry the request's sequence number, which the reply echoes
/// inside the reply message. MCU frames carry the MCU's own transmit
/// counter, which the host only uses for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame<M> {
    pub seq: u16,
    pub msg: M,
}

/// Host to MCU. Every request gets exactly one [`Reply`] with its `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// 0: wheel surface speeds, millimetres per second, forward positive.
    SetWheels { left_mm_s: i16, right_mm_s: i16 },
    /// 1: both wheels to zero; accepted even while e-stopped.
    Stop,
    /// 2: latch the emergency stop: motors off, refuse motion until `Rearm`.
    EStop,
    /// 3: clear the emergency-stop latch (refused while the line is low).
    Rearm,
    /// 4: status LED colour.
    SetLed { r: u8, g: u8, b: u8 },
    /// 5: gripper jaws; refused while e-stopped.
    Gripper { close: bool },
    /// 6: liveness check; answered with `Ack`.
    Ping,
    /// 7: answered with `State`.
    GetState,
}

impl Request {
    /// Whether the request moves an actuator, and so is refused while the
    /// kill-switch latch is engaged.
    pub fn is_motion(&self) -> bool {
        matches!(self, Request::SetWheels { .. } | Request::Gripper { .. })
    }
}

/// Why the MCU rejected a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NackCode {
    /// 0: the emergency stop is latched (or the kill-switch line is low).
    Estopped,
    /// 1: a value is outside the firmware's limits.
    OutOfRange,
    /// 2: the firmware does not implement this request.
    Unsupported,
    /// 3: a hardware fault (stall, over-current, sensor failure).
    Fault,
}

/// Everything the MCU reports in one `State` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct McuState {
    /// Odometry pose: millimetres from the start point, heading in
    /// centi-degrees, counter-clockwise positive, in (-18000, 18000].
    pub x_mm: i32,
    pub y_mm: i32,
    pub heading_cdeg: i32,
    /// Forward range sensor, millimetres (its maximum when nothing is seen).
    pub range_mm: u16,
    pub battery_mv: u16,
    /// State of charge, 0 to 1000.
    pub charge_permille: u16,
    /// Board temperature, centi-degrees Celsius.
    pub temp_cdeg: i16,
    /// The kill-switch line level as the MCU sees it (low = pressed).
    pub estop_line_low: bool,
    /// The MCU's emergency-stop latch.
    pub estopped: bool,
    pub gripper_closed: bool,
    /// Something is between the jaws.
    pub holding: bool,
}

/// MCU to host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// 0: request `seq` done.
    Ack { seq: u16 },
    /// 1: request `seq` rejected.
    Nack { seq: u16, code: NackCode },
    /// 2: answer to `GetState` `seq`. On the wire the state's fields follow
    /// `seq` directly (postcard has no nesting overhead).
    State { seq: u16, state: McuState },
}

impl Reply {
    /// The request this reply answers.
    pub fn seq(&self) -> u16 {
        match *self {
            Reply::Ack { seq } | Reply::Nack { seq, .. } | Reply::State { seq, .. } => seq,
        }
    }
}

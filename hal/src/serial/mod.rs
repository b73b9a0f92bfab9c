//! Link to a motor/sensor co-processor (a microcontroller) over a serial
//! port, and device handles that implement the [`crate::capability`] traits
//! on top of it.
//!
//! The design follows rumqttc: [`protocol`] is a pure state machine (seq
//! numbers, one outstanding request, retransmission, disconnect detection)
//! that takes `now` as an argument; [`link`] runs it on one I/O thread that
//! owns the port, fed by a bounded channel; [`devices`] are the handles the
//! registry holds; [`mcu_sim`] is a simulated co-processor for tests on a
//! pseudo-terminal. Open a link with [`SerialLink::open`] from the board
//! file's `[serial]` table.
//!
//! # Wire protocol (for firmware authors)
//!
//! **Framing.** Every frame is `0x00, COBS(body), 0x00`, at most 64 bytes
//! in total. `body = postcard(Frame { seq: u16, msg }) ++ crc16`, where the
//! CRC is CRC-16/IBM-3740 (poly `0x1021`, init `0xFFFF`, no reflection, no
//! final xor; check value `0x29B1` for `"123456789"`) over the postcard
//! bytes, sent little-endian. A receiver collects bytes up to each `0x00`,
//! ignores empty chunks, and silently drops a chunk that is too long, is not
//! valid COBS, fails the CRC, or does not decode to exactly one message. The
//! leading `0x00` is what lets a receiver recover from noise between frames
//! without losing the next frame; send it.
//!
//! **Encoding** (postcard): integers `u16`/`u32` are LEB128 varints, `i16`
//! / `i32` zig-zag then varint, `u8` and `bool` one byte, an enum is its
//! variant index as a varint followed by its fields in order; structs have
//! no tags or lengths.
//!
//! **Exchange.** The host sends one request at a time with an increasing
//! `seq` (wrapping). The MCU answers every request with exactly one reply
//! that echoes `seq` in its message. If the reply is lost the host resends
//! the *same* frame; the MCU should remember its last `(seq, reply)` and
//! re-send that reply for a repeated seq instead of executing twice.
//! `EStop` and `Rearm` may arrive while another request is unanswered and
//! must be handled at once. The `seq` of MCU frames is the MCU's own
//! transmit counter (informational). The host sends `GetState` when idle
//! (default every 100 ms); firmware should stop the motors when no valid
//! frame arrived for 500 ms.
//!
//! Host to MCU ([`messages::Request`]):
//!
//! | idx | message | fields | reply |
//! |----:|---------|--------|-------|
//! | 0 | `SetWheels` | `left_mm_s: i16, right_mm_s: i16` | `Ack`; `Nack(Estopped)` if latched, `Nack(OutOfRange)` over limit |
//! | 1 | `Stop` | | `Ack` (also while latched) |
//! | 2 | `EStop` | | `Ack`; latch: motors off, refuse `SetWheels`/`Gripper` until `Rearm` |
//! | 3 | `Rearm` | | `Ack`; `Nack(Estopped)` while the kill-switch line is low |
//! | 4 | `SetLed` | `r: u8, g: u8, b: u8` | `Ack` |
//! | 5 | `Gripper` | `close: bool` | `Ack`; `Nack(Estopped)` if latched |
//! | 6 | `Ping` | | `Ack` |
//! | 7 | `GetState` | | `State` |
//!
//! MCU to host ([`messages::Reply`]):
//!
//! | idx | message | fields |
//! |----:|---------|--------|
//! | 0 | `Ack` | `seq: u16` |
//! | 1 | `Nack` | `seq: u16, code: NackCode` (0 `Estopped`, 1 `OutOfRange`, 2 `Unsupported`, 3 `Fault`) |
//! | 2 | `State` | `seq: u16, x_mm: i32, y_mm: i32, heading_cdeg: i32, range_mm: u16, battery_mv: u16, charge_permille: u16, temp_cdeg: i16, estop_line_low: bool, estopped: bool, gripper_closed: bool, holding: bool` |
//!
//! Pose is odometry from power-on (x forward, y left, heading
//! counter-clockwise in centi-degrees, wrapped to (-18000, 18000]). The
//! kill-switch line is active low; the MCU latches as for `EStop` when it
//! goes low.

pub mod devices;
pub mod frame;
pub mod link;
pub mod mcu_sim;
pub mod messages;
pub mod protocol;

pub use devices::{
    SerialBattery, SerialDrive, SerialEstopLine, SerialGripper, SerialLed, SerialOdometry, SerialRange, SerialSafeStop,
    SerialThermometer,
};
pub use link::{LinkClient, LinkTimeouts, SerialError, SerialLink};
pub use messages::{Frame, McuState, NackCode, Reply, Request};
pub use protocol::LinkStats;

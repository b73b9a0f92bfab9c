//! A simulated co-processor for testing the link on a pseudo-terminal.
//!
//! [`McuSim`] runs the firmware side of the protocol in its own thread on
//! its own port: it answers every request as the table in [`super`]
//! specifies, integrates the commanded wheel speeds into a pose on a fixed
//! tick, models range (a wall ahead), battery drain and board temperature,
//! latches `EStop`, and reads a kill-switch line the test can pull low.
//! Fault injection (garbage bytes, dropped replies, a corrupted CRC, a
//! silent peer) lets tests exercise resynchronisation, retransmission and
//! disconnect handling against the real I/O path. It is also a reference
//! for firmware authors: duplicate-seq handling and the motor watchdog here
//! are what real firmware should do.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Rgb;

use super::frame::{self, FrameDecoder};
use super::link::lock;
use super::messages::{Frame, McuState, NackCode, Reply, Request};

/// Physical parameters of the simulated robot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McuSimConfig {
    /// Integration step.
    pub tick: Duration,
    pub track_width_m: f64,
    /// Wheel speeds above this are answered `Nack(OutOfRange)`.
    pub max_wheel_mm_s: i16,
    /// A wall across the x axis at this x, seen by the range sensor.
    pub wall_x_m: Option<f64>,
    pub max_range_mm: u16,
    pub battery_full_mv: f64,
    pub battery_empty_mv: f64,
    /// Battery drain, millivolts per second, idle and per m/s of speed.
    pub drain_idle_mv_s: f64,
    pub drain_per_mps_mv_s: f64,
    pub ambient_c: f64,
    /// Wheels stop when no valid frame arrived for this long.
    pub watchdog: Option<Duration>,
}

impl Default for McuSimConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(5),
            track_width_m: 0.16,
            max_wheel_mm_s: 1000,
            wall_x_m: Some(2.0),
            max_range_mm: 4000,
            battery_full_mv: 8400.0,
            battery_empty_mv: 6600.0,
            drain_idle_mv_s: 0.5,
            drain_per_mps_mv_s: 5.0,
            ambient_c: 25.0,
            watchdog: Some(Duration::from_millis(500)),
        }
    }
}

/// What a test can observe of the simulated co-processor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimSnapshot {
    pub state: McuState,
    pub wheels_mm_s: (i16, i16),
    pub led: Rgb,
    /// Requests executed (duplicates excluded).
    pub executed: u64,
    /// Requests that repeated the last seq and got the cached reply.
    pub duplicates: u64,
    /// Received chunks that failed CRC, COBS or decoding.
    pub bad_frames: u64,
    /// `EStop` requests executed.
    pub estops: u64,
}

#[derive(Debug, Default)]
struct Faults {
    garbage: Vec<u8>,
    drop_replies: u32,
    corrupt_crc: bool,
    silent: bool,
}

#[derive(Debug)]
struct World {
    x: f64,
    y: f64,
    heading_rad: f64,
    wheels: (i16, i16),
    estopped: bool,
    line_low: bool,
    led: Rgb,
    gripper_closed: bool,
    object_present: bool,
    battery_mv: f64,
    temp_c: f64,
    last_rx: Instant,
    faults: Faults,
    executed: u64,
    duplicates: u64,
    bad_frames: u64,
    estops: u64,
}

impl World {
    fn report(&self, cfg: &McuSimConfig) -> McuState {
        let range_m = match cfg.wall_x_m {
            Some(wall) if self.heading_rad.cos() > 1e-3 => ((wall - self.x) / self.heading_rad.cos()).max(0.0),
            _ => f64::INFINITY,
        };
        let max_range = f64::from(cfg.max_range_mm);
        let span = cfg.battery_full_mv - cfg.battery_empty_mv;
        let charge = ((self.battery_mv - cfg.battery_empty_mv) / span).clamp(0.0, 1.0);
        McuState {
            x_mm: (self.x * 1000.0).round() as i32,
            y_mm: (self.y * 1000.0).round() as i32,
            heading_cdeg: (crate::wrap_deg(self.heading_rad.to_degrees()) * 100.0).round() as i32,
            range_mm: (range_m * 1000.0).min(max_range) as u16,
            battery_mv: self.battery_mv.clamp(0.0, f64::from(u16::MAX)) as u16,
            charge_permille: (charge * 1000.0).round() as u16,
            temp_cdeg: (self.temp_c * 100.0).round() as i16,
            estop_line_low: self.line_low,
            estopped: self.estopped,
            gripper_closed: self.gripper_closed,
            holding: self.gripper_closed && self.object_present,
        }
    }

    fn step(&mut self, cfg: &McuSimConfig, dt: f64, now: Instant) {
        if cfg.watchdog.is_some_and(|w| now.saturating_duration_since(self.last_rx) > w) {
            self.wheels = (0, 0);
        }
        let l = f64::from(self.wheels.0) / 1000.0;
        let r = f64::from(self.wheels.1) / 1000.0;
        let v = (l + r) / 2.0;
        let w = (r - l) / cfg.track_width_m;
        self.x += v * self.heading_rad.cos() * dt;
        self.y += v * self.heading_rad.sin() * dt;
        self.heading_rad += w * dt;
        let drain = cfg.drain_idle_mv_s + cfg.drain_per_mps_mv_s * (l.abs() + r.abs()) / 2.0;
        self.battery_mv = (self.battery_mv - drain * dt).max(0.0);
        let max = f64::from(cfg.max_wheel_mm_s) / 1000.0;
        let target = cfg.ambient_c + 15.0 * (l.abs() + r.abs()) / (2.0 * max);
        self.temp_c += (target - self.temp_c) * (dt / 5.0).min(1.0);
    }

    fn execute(&mut self, cfg: &McuSimConfig, seq: u16, req: Request) -> Reply {
        let ack = Reply::Ack { seq };
        let nack = |code| Reply::Nack { seq, code };
        self.executed += 1;
        match req {
            Request::SetWheels { .. } | Request::Gripper { .. } if self.estopped => nack(NackCode::Estopped),
            Request::SetWheels { left_mm_s, right_mm_s } => {
                let max = cfg.max_wheel_mm_s;
                if left_mm_s.unsigned_abs() > max.unsigned_abs() || right_mm_s.unsigned_abs() > max.unsigned_abs() {
                    nack(NackCode::OutOfRange)
                } else {
                    self.wheels = (left_mm_s, right_mm_s);
                    ack
                }
            }
            Request::Stop => {
                self.wheels = (0, 0);
                ack
            }
            Request::EStop => {
                self.estops += 1;
                self.latch();
                ack
            }
            Request::Rearm if self.line_low => nack(NackCode::Estopped),
            Request::Rearm => {
                self.estopped = false;
                ack
            }
            Request::SetLed { r, g, b } => {
                self.led = Rgb::new(r, g, b);
                ack
            }
            Request::Gripper { close } => {
                self.gripper_closed = close;
                ack
            }
            Request::Ping => ack,
            Request::GetState => Reply::State { seq, state: self.report(cfg) },
        }
    }

    fn latch(&mut self) {
        self.estopped = true;
        self.wheels = (0, 0);
    }
}

struct Control {
    stop: AtomicBool,
    world: Mutex<World>,
}

/// A running simulated co-processor. Dropping it closes its port.
pub struct McuSim {
    ctl: Arc<Control>,
    cfg: McuSimConfig,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for McuSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McuSim").field("cfg", &self.cfg).finish()
    }
}

impl McuSim {
    /// Run the simulated firmware on `port`.
    pub fn spawn(mut port: Box<dyn serialport::SerialPort>, cfg: McuSimConfig) -> io::Result<Self> {
        port.set_timeout(Duration::from_millis(1))?;
        let now = Instant::now();
        let world = World {
            x: 0.0,
            y: 0.0,
            heading_rad: 0.0,
            wheels: (0, 0),
            estopped: false,
            line_low: false,
            led: Rgb::OFF,
            gripper_closed: false,
            object_present: false,
            battery_mv: cfg.battery_full_mv,
            temp_c: cfg.ambient_c,
            last_rx: now,
            faults: Faults::default(),
            executed: 0,
            duplicates: 0,
            bad_frames: 0,
            estops: 0,
        };
        let ctl = Arc::new(Control { stop: AtomicBool::new(false), world: Mutex::new(world) });
        let firmware = Firmware { port, cfg, ctl: ctl.clone(), decoder: FrameDecoder::new(), last: None, tx_seq: 0 };
        let thread = std::thread::Builder::new().name("mcu-sim".into()).spawn(move || firmware.run())?;
        Ok(Self { ctl, cfg, thread: Some(thread) })
    }

    /// A simulated co-processor on one end of a pseudo-terminal and a
    /// [`super::SerialLink`] on the other.
    #[cfg(unix)]
    pub fn pair(
        cfg: McuSimConfig,
        timeouts: super::LinkTimeouts,
    ) -> Result<(super::SerialLink, McuSim), super::SerialError> {
        let open_err =
            |e: &dyn std::fmt::Display| super::SerialError::Open { port: "pty".into(), reason: e.to_string() };
        let (host, mcu) = serialport::TTYPort::pair().map_err(|e| open_err(&e))?;
        let sim = McuSim::spawn(Box::new(mcu), cfg).map_err(|e| open_err(&e))?;
        let link = super::SerialLink::from_port(Box::new(host), timeouts)?;
        Ok((link, sim))
    }

    pub fn snapshot(&self) -> SimSnapshot {
        let w = lock(&self.ctl.world);
        SimSnapshot {
            state: w.report(&self.cfg),
            wheels_mm_s: w.wheels,
            led: w.led,
            executed: w.executed,
            duplicates: w.duplicates,
            bad_frames: w.bad_frames,
            estops: w.estops,
        }
    }

    /// Set the kill-switch line; pulling it low latches the e-stop, as the
    /// hardware interlock on a real board does.
    pub fn set_estop_line_low(&self, low: bool) {
        let mut w = lock(&self.ctl.world);
        w.line_low = low;
        if low {
            w.latch();
        }
    }

    /// Whether an object sits between the gripper jaws.
    pub fn set_object_present(&self, present: bool) {
        lock(&self.ctl.world).object_present = present;
    }

    /// Write these bytes to the host before the next reply (or at once if
    /// idle), outside any frame.
    pub fn inject_garbage(&self, bytes: &[u8]) {
        lock(&self.ctl.world).faults.garbage.extend_from_slice(bytes);
    }

    /// Execute the next `n` requests but send no reply.
    pub fn drop_next_replies(&self, n: u32) {
        lock(&self.ctl.world).faults.drop_replies += n;
    }

    /// Send the next reply with a wrong CRC.
    pub fn corrupt_next_crc(&self) {
        lock(&self.ctl.world).faults.corrupt_crc = true;
    }

    /// Stop hearing and answering, as if the cable were pulled.
    pub fn disconnect(&self) {
        lock(&self.ctl.world).faults.silent = true;
    }

    /// Undo [`McuSim::disconnect`].
    pub fn reconnect(&self) {
        lock(&self.ctl.world).faults.silent = false;
    }
}

impl Drop for McuSim {
    fn drop(&mut self) {
        self.ctl.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Firmware {
    port: Box<dyn serialport::SerialPort>,
    cfg: McuSimConfig,
    ctl: Arc<Control>,
    decoder: FrameDecoder<Request>,
    /// The last request's seq and reply, re-sent for a retransmission
    /// instead of executing the request twice.
    last: Option<(u16, Reply)>,
    tx_seq: u16,
}

impl Firmware {
    fn run(mut self) {
        let mut buf = [0u8; 256];
        let mut next_tick = Instant::now() + self.cfg.tick;
        while !self.ctl.stop.load(Ordering::SeqCst) {
            let garbage = std::mem::take(&mut lock(&self.ctl.world).faults.garbage);
            if !garbage.is_empty() && self.port.write_all(&garbage).is_err() {
                return;
            }
            match self.port.read(&mut buf) {
                Ok(n) => {
                    for &b in &buf[..n] {
                        if self.on_byte(b).is_err() {
                            return;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
            let now = Instant::now();
            let mut w = lock(&self.ctl.world);
            while now >= next_tick {
                w.step(&self.cfg, self.cfg.tick.as_secs_f64(), now);
                next_tick += self.cfg.tick;
            }
        }
    }

    fn on_byte(&mut self, b: u8) -> io::Result<()> {
        let Some(decoded) = self.decoder.push(b) else {
            return Ok(());
        };
        let mut w = lock(&self.ctl.world);
        if w.faults.silent {
            return Ok(());
        }
        let Ok(Frame { seq, msg }) = decoded else {
            w.bad_frames += 1;
            return Ok(());
        };
        w.last_rx = Instant::now();
        let reply = match self.last {
            Some((last_seq, reply)) if last_seq == seq => {
                w.duplicates += 1;
                reply
            }
            _ => w.execute(&self.cfg, seq, msg),
        };
        self.last = Some((seq, reply));
        if w.faults.drop_replies > 0 {
            w.faults.drop_replies -= 1;
            return Ok(());
        }
        let corrupt = std::mem::take(&mut w.faults.corrupt_crc);
        let garbage = std::mem::take(&mut w.faults.garbage);
        drop(w);
        self.tx_seq = self.tx_seq.wrapping_add(1);
        let Ok(mut body) = frame::encode_body(&Frame { seq: self.tx_seq, msg: reply }) else {
            return Ok(());
        };
        if corrupt {
            if let Some(last) = body.last_mut() {
                *last ^= 0xA5;
            }
        }
        self.port.write_all(&garbage)?;
        if let Ok(wire) = frame::wrap(&body) {
            self.port.write_all(&wire)?;
        }
        Ok(())
    }
}

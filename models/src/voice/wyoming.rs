//! A client for the Wyoming protocol, the open event protocol of the Rhasspy /
//! Home Assistant voice ecosystem, so a user can put a stronger
//! speech-to-text server on the host (`wyoming-faster-whisper`, ...) in place
//! of the robot's own model: `robot listen --stt wyoming://HOST:PORT`.
//! [`WyomingClient`] implements [`SpeechToText`] like the on-device
//! recogniser, so the rest of the voice path never knows which one it has.
//!
//! On the wire an event is one line of JSON (`type`, optional inline `data`,
//! `data_length`, `payload_length`, `version`), then `data_length` bytes of
//! JSON merged into `data`, then `payload_length` bytes of binary payload.
//! One utterance is `transcribe`, `audio-start`, `audio-chunk`s of 16-bit
//! little-endian mono PCM at 16 kHz, `audio-stop`; the server answers with
//! `transcript` (or `error`). Other events in between are skipped.
//!
//! The server is another machine's program, so everything it sends is
//! bounded ([`Limits`]: header line, data and payload sizes, events skipped
//! while waiting) and every failure is a [`WyomingError`], never a panic.
//! The client is blocking: one request, one reply, with socket timeouts and a
//! deadline for the transcript. Reference servers close the connection after
//! each transcript, so a kept connection that turns out to be closed is
//! replaced once, transparently, before the utterance is sent again.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::stt::{Bias, SpeechToText, Transcript};
use super::{VoiceError, SAMPLE_RATE};

/// The protocol version this client writes in its headers.
pub const PROTOCOL_VERSION: &str = "1.5.2";
/// Samples per `audio-chunk` event (64 ms at 16 kHz, what reference clients send).
pub const SAMPLES_PER_CHUNK: usize = 1024;

/// Bounds on what a server may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest header line, newline excluded.
    pub max_line: usize,
    /// Largest `data_length`.
    pub max_data: usize,
    /// Largest `payload_length`.
    pub max_payload: usize,
    /// Events skipped while waiting for a reply before giving up.
    pub max_skipped: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_line: 64 * 1024, max_data: 1024 * 1024, max_payload: 16 * 1024 * 1024, max_skipped: 10_000 }
    }
}

/// What can go wrong talking to a Wyoming server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WyomingError {
    #[error("bad server address `{addr}`: {reason}")]
    Address { addr: String, reason: String },
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    #[error("timed out waiting for the server")]
    Timeout,
    #[error("connection error: {0}")]
    Io(#[source] io::Error),
    #[error("the server closed the connection {during}")]
    Closed { during: &'static str },
    #[error("event header longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("malformed event header: {reason}")]
    BadHeader { reason: String },
    #[error("malformed event data: {reason}")]
    BadData { reason: String },
    #[error("{what} of {len} bytes is over the {limit}-byte limit")]
    TooLarge { what: &'static str, len: u64, limit: usize },
    #[error("malformed `{event}` event: {reason}")]
    BadEvent { event: String, reason: String },
    #[error("the server reported an error: {text}")]
    Server { text: String, code: Option<String> },
    #[error("{limit} events without the reply")]
    TooManyEvents { limit: usize },
}

/// Where [`WyomingError::Closed`] happened, when nothing at all came back:
/// the sign of a kept connection the server had already closed.
const BEFORE_REPLY: &str = "before replying";

impl WyomingError {
    /// A kept connection the server closed while idle: worth one retry on a
    /// fresh connection, since the server saw nothing of the request.
    fn is_stale_connection(&self) -> bool {
        match self {
            WyomingError::Closed { during } => *during == BEFORE_REPLY,
            WyomingError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }
}

fn io_err(e: io::Error) -> WyomingError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => WyomingError::Timeout,
        _ => WyomingError::Io(e),
    }
}

/// One protocol event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// The event type (`transcript`, `audio-chunk`, ...).
    pub kind: String,
    /// Inline data and `data_length` data, merged (the latter wins).
    pub data: Map<String, Value>,
    /// The binary payload (empty when none was sent).
    pub payload: Vec<u8>,
}

impl Event {
    /// An event without data or payload.
    pub fn new(kind: impl Into<String>) -> Event {
        Event { kind: kind.into(), data: Map::new(), payload: Vec::new() }
    }

    /// With `data` (a JSON object; any other value leaves the data empty).
    pub fn with_data(mut self, data: Value) -> Event {
        if let Value::Object(map) = data {
            self.data = map;
        }
        self
    }

    pub fn with_payload(mut self, payload: Vec<u8>) -> Event {
        self.payload = payload;
        self
    }

    /// Writes the event as reference implementations do: data after the
    /// header (`data_length`), then the payload. Does not flush.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut header = Map::new();
        header.insert("type".into(), Value::String(self.kind.clone()));
        header.insert("version".into(), Value::String(PROTOCOL_VERSION.into()));
        let data = if self.data.is_empty() { Vec::new() } else { serde_json::to_vec(&self.data)? };
        if !data.is_empty() {
            header.insert("data_length".into(), Value::from(data.len()));
        }
        if !self.payload.is_empty() {
            header.insert("payload_length".into(), Value::from(self.payload.len()));
        }
        let mut line = serde_json::to_vec(&header)?;
        line.push(b'\n');
        w.write_all(&line)?;
        w.write_all(&data)?;
        w.write_all(&self.payload)
    }
}

/// Reads one event; `Ok(None)` when the stream ends cleanly between events.
pub fn read_event<R: BufRead>(r: &mut R, limits: &Limits) -> Result<Option<Event>, WyomingError> {
    let mut line = Vec::new();
    if !read_header_line(r, limits.max_line, &mut line)? {
        return Ok(None);
    }
    let header = parse_header(&line, limits)?;
    let mut event = Event { kind: header.kind, data: header.data, payload: Vec::new() };
    if header.data_length > 0 {
        let bytes = read_exactly(r, header.data_length, "in event data")?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(extra)) => event.data.extend(extra),
            Ok(other) => {
                return Err(WyomingError::BadData {
                    reason: format!("expected a JSON object, got {}", json_kind(&other)),
                })
            }
            Err(e) => return Err(WyomingError::BadData { reason: e.to_string() }),
        }
    }
    if header.payload_length > 0 {
        event.payload = read_exactly(r, header.payload_length, "in an event payload")?;
    }
    Ok(Some(event))
}

/// The header line's fields, checked.
struct Header {
    kind: String,
    data: Map<String, Value>,
    data_length: u64,
    payload_length: u64,
}

fn parse_header(line: &[u8], limits: &Limits) -> Result<Header, WyomingError> {
    let bad = |reason: String| WyomingError::BadHeader { reason };
    let mut obj = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(o)) => o,
        Ok(other) => return Err(bad(format!("expected a JSON object, got {}", json_kind(&other)))),
        Err(e) => return Err(bad(e.to_string())),
    };
    let kind = match obj.remove("type") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => return Err(bad("empty `type`".into())),
        Some(other) => return Err(bad(format!("`type` is {}, not a string", json_kind(&other)))),
        None => return Err(bad("no `type`".into())),
    };
    let data = match obj.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(bad(format!("`data` is {}, not an object", json_kind(&other)))),
    };
    let length = |obj: &Map<String, Value>, key: &str| -> Result<u64, WyomingError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| bad(format!("`{key}` is {v}, not a byte count"))),
        }
    };
    let data_length = length(&obj, "data_length")?;
    let payload_length = length(&obj, "payload_length")?;
    if data_length > limits.max_data as u64 {
        return Err(WyomingError::TooLarge { what: "event data", len: data_length, limit: limits.max_data });
    }
    if payload_length > limits.max_payload as u64 {
        return Err(WyomingError::TooLarge { what: "event payload", len: payload_length, limit: limits.max_payload });
    }
    Ok(Header { kind, data, data_length, payload_length })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads up to a newline into `line` (newline dropped); `false` at a clean
/// end of stream. Never buffers more than `max` bytes of a line.
fn read_header_line<R: BufRead>(r: &mut R, max: usize, line: &mut Vec<u8>) -> Result<bool, WyomingError> {
    line.clear();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(false)
            } else {
                Err(WyomingError::Closed { during: "in an event header" })
            };
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let content = newline.unwrap_or(buf.len());
        if line.len() + content > max {
            return Err(WyomingError::LineTooLong { limit: max });
        }
        line.extend_from_slice(&buf[..content]);
        r.consume(newline.map_or(content, |i| i + 1));
        if newline.is_some() {
            return Ok(true);
        }
    }
}

/// Exactly `n` bytes (already checked against a limit), grown as they
/// arrive so a lying length costs no more memory than what was sent.
fn read_exactly<R: Read>(r: &mut R, n: u64, during: &'static str) -> Result<Vec<u8>, WyomingError> {
    let mut out = Vec::new();
    r.take(n).read_to_end(&mut out).map_err(io_err)?;
    if (out.len() as u64) < n {
        return Err(WyomingError::Closed { during });
    }
    Ok(out)
}

/// How to talk to a server.
#[derive(Debug, Clone, PartialEq)]
pub struct WyomingOptions {
    /// Longest wait to connect, for each write, and for the reply after the
    /// audio is sent (a deadline over all events of the reply).
    pub timeout: Duration,
    /// The `language` of `transcribe` (`None`: the server's default).
    pub language: Option<String>,
    /// The model `name` of `transcribe` (`None`: the server's default).
    pub model: Option<String>,
    /// Ask the server what it is (`describe` -> `info`) when connecting, so
    /// a wrong address fails at start-up rather than at the first utterance.
    pub describe: bool,
    pub limits: Limits,
}

impl WyomingOptions {
    /// English, the server's default model, `describe` on connect.
    pub fn new(timeout: Duration) -> WyomingOptions {
        WyomingOptions { timeout, language: Some("en".into()), model: None, describe: true, limits: Limits::default() }
    }
}

/// What the server said it is (`info`), as far as speech-to-text goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerInfo {
    /// `program/model` for each speech-to-text model listed.
    pub asr_models: Vec<String>,
}

impl ServerInfo {
    fn from_event(event: &Event) -> ServerInfo {
        let mut asr_models = Vec::new();
        let programs = event.data.get("asr").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        for program in programs {
            let pname = program.get("name").and_then(Value::as_str).unwrap_or("?");
            let models = program.get("models").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            for m in models {
                if let Some(mname) = m.get("name").and_then(Value::as_str) {
                    asr_models.push(format!("{pname}/{mname}"));
                }
            }
        }
        ServerInfo { asr_models }
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

/// A speech-to-text server reached over TCP.
pub struct WyomingClient {
    /// `HOST:PORT` as the user wrote it (for messages and the engine name).
    addr: String,
    targets: Vec<SocketAddr>,
    opts: WyomingOptions,
    conn: Option<Conn>,
    info: Option<ServerInfo>,
}

impl std::fmt::Debug for WyomingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WyomingClient")
            .field("addr", &self.addr)
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl WyomingClient {
    /// Connects to `HOST:PORT` (a `tcp://` or `wyoming://` prefix is
    /// accepted) with [`WyomingOptions::new`].
    pub fn connect(addr: &str, timeout: Duration) -> Result<WyomingClient, VoiceError> {
        WyomingClient::connect_with(addr, WyomingOptions::new(timeout))
    }

    /// Connects and, with `opts.describe`, asks the server what it is.
    pub fn connect_with(addr: &str, opts: WyomingOptions) -> Result<WyomingClient, VoiceError> {
        let addr = addr.strip_prefix("wyoming://").or_else(|| addr.strip_prefix("tcp://")).unwrap_or(addr);
        let wrap = |source| VoiceError::Wyoming { addr: addr.to_string(), source };
        let targets = resolve(addr).map_err(wrap)?;
        let mut client = WyomingClient { addr: addr.to_string(), targets, opts, conn: None, info: None };
        let mut conn = client.open().map_err(wrap)?;
        if client.opts.describe {
            let info = client.describe(&mut conn).map_err(wrap)?;
            client.info = Some(info);
        }
        client.conn = Some(conn);
        Ok(client)
    }

    /// `HOST:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The engine name transcripts carry: `wyoming:HOST:PORT`.
    pub fn engine(&self) -> String {
        format!("wyoming:{}", self.addr)
    }

    /// The server's `info`, when it was asked for.
    pub fn info(&self) -> Option<&ServerInfo> {
        self.info.as_ref()
    }

    fn open(&self) -> Result<Conn, WyomingError> {
        let timeout = self.opts.timeout.max(Duration::from_millis(1));
        let mut last = None;
        for target in &self.targets {
            match TcpStream::connect_timeout(target, timeout) {
                Ok(stream) => {
                    let setup = |s: &TcpStream| -> io::Result<Conn> {
                        s.set_read_timeout(Some(timeout))?;
                        s.set_write_timeout(Some(timeout))?;
                        // Small events, one reply awaited: no Nagle delay.
                        s.set_nodelay(true)?;
                        Ok(Conn { reader: BufReader::new(s.try_clone()?), writer: BufWriter::new(s.try_clone()?) })
                    };
                    return setup(&stream).map_err(WyomingError::Connect);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(WyomingError::Connect(last.unwrap_or_else(|| io::Error::other("no address to connect to"))))
    }

    fn describe(&self, conn: &mut Conn) -> Result<ServerInfo, WyomingError> {
        send(conn, &[Event::new("describe")])?;
        let reply = self.await_reply(conn, "info")?;
        Ok(ServerInfo::from_event(&reply))
    }

    /// Reads events until one of type `want` (or `error`) within the
    /// deadline, skipping the rest.
    fn await_reply(&self, conn: &mut Conn, want: &str) -> Result<Event, WyomingError> {
        let deadline = Instant::now() + self.opts.timeout;
        let limits = &self.opts.limits;
        for seen in 0..=limits.max_skipped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WyomingError::Timeout);
            }
            conn.reader.get_ref().set_read_timeout(Some(left)).map_err(io_err)?;
            let Some(event) = read_event(&mut conn.reader, limits)? else {
                return Err(WyomingError::Closed { during: if seen == 0 { BEFORE_REPLY } else { "before the reply" } });
            };
            if event.kind == want {
                return Ok(event);
            }
            if event.kind == "error" {
                let text = event.data.get("text").and_then(Value::as_str).unwrap_or("(no text)").to_string();
                let code = event.data.get("code").and_then(Value::as_str).map(str::to_string);
                return Err(WyomingError::Server { text, code });
            }
        }
        Err(WyomingError::TooManyEvents { limit: limits.max_skipped })
    }

    /// One utterance over `conn`: the text of the transcript.
    fn exchange(&self, conn: &mut Conn, samples: &[f32]) -> Result<String, WyomingError> {
        let format = json!({ "rate": SAMPLE_RATE, "width": 2, "channels": 1 });
        let mut transcribe = Map::new();
        if let Some(lang) = &self.opts.language {
            transcribe.insert("language".into(), Value::String(lang.clone()));
        }
        if let Some(model) = &self.opts.model {
            transcribe.insert("name".into(), Value::String(model.clone()));
        }
        let mut events = vec![
            Event::new("transcribe").with_data(Value::Object(transcribe)),
            Event::new("audio-start").with_data(format.clone()),
        ];
        events.extend(
            samples
                .chunks(SAMPLES_PER_CHUNK)
                .map(|c| Event::new("audio-chunk").with_data(format.clone()).with_payload(pcm16(c))),
        );
        events.push(Event::new("audio-stop"));
        send(conn, &events)?;
        let reply = self.await_reply(conn, "transcript")?;
        match reply.data.get("text") {
            Some(Value::String(t)) => Ok(clean_text(t)),
            None | Some(Value::Null) => Ok(String::new()),
            Some(other) => Err(WyomingError::BadEvent {
                event: "transcript".into(),
                reason: format!("`text` is {}, not a string", json_kind(other)),
            }),
        }
    }
}

fn resolve(addr: &str) -> Result<Vec<SocketAddr>, WyomingError> {
    let bad = |reason: String| WyomingError::Address { addr: addr.to_string(), reason };
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => return Err(bad("expected HOST:PORT".into())),
    }
    let targets: Vec<SocketAddr> = addr.to_socket_addrs().map_err(|e| bad(e.to_string()))?.collect();
    if targets.is_empty() {
        return Err(bad("the name resolves to no address".into()));
    }
    Ok(targets)
}

fn send(conn: &mut Conn, events: &[Event]) -> Result<(), WyomingError> {
    for e in events {
        e.write_to(&mut conn.writer).map_err(io_err)?;
    }
    conn.writer.flush().map_err(io_err)
}

/// 16-bit little-endian PCM; out-of-range samples clip, NaN is silence.
fn pcm16(samples: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for &s in samples {
        let v = if s.is_nan() { 0.0 } else { (s * 32767.0).round().clamp(-32768.0, 32767.0) };
        out.extend_from_slice(&(v as i16).to_le_bytes());
    }
    out
}

/// A server's text in the form [`Transcript::text`] promises: lower case,
/// words separated by single spaces. Digits and punctuation stay: the
/// brain's normalizer reads "2.5 meters," as well as the words.
fn clean_text(text: &str) -> String {
    text.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

impl SpeechToText for WyomingClient {
    /// Sends the utterance; the bias is not sent (the protocol has no place
    /// for it). A kept connection the server closed is replaced once.
    fn transcribe(&mut self, samples: &[f32], _bias: &Bias) -> Result<Transcript, VoiceError> {
        let wrap = |source| VoiceError::Wyoming { addr: self.addr.clone(), source };
        let started = Instant::now();
        let reused = self.conn.is_some();
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.open().map_err(wrap)?,
        };
        let mut result = self.exchange(&mut conn, samples);
        if reused && result.as_ref().is_err_and(WyomingError::is_stale_connection) {
            conn = self.open().map_err(wrap)?;
            result = self.exchange(&mut conn, samples);
        }
        // After an error the stream's position is unknown: drop it.
        let text = result.map_err(wrap)?;
        self.conn = Some(conn);
        Ok(Transcript {
            text,
            confidence: None,
            audio_seconds: samples.len() as f64 / f64::from(SAMPLE_RATE),
            compute_seconds: started.elapsed().as_secs_f64(),
            engine: self.engine(),
            alternatives: Vec::new(),
        })
    }
}

#[cfg(test)]
#[path = "wyoming_tests.rs"]
mod tests;

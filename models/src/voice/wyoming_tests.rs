//! Tests of the Wyoming client against an in-process fake server on
//! 127.0.0.1:0: the protocol exchange, data sent via `data_length`, skipped
//! events, every way a server can misbehave, reconnection, and the event
//! parser on arbitrary bytes.

use std::io::{BufReader, Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;

use proptest::prelude::*;

use super::*;

const T: Duration = Duration::from_secs(5);

/// A server thread running `script` once per accepted connection, for
/// `connections` connections.
fn serve<F>(connections: usize, script: F) -> (String, JoinHandle<()>)
where
    F: Fn(usize, &mut BufReader<TcpStream>, &mut TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        for i in 0..connections {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(T)).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            script(i, &mut reader, &mut writer);
        }
    });
    (addr, handle)
}

fn next(r: &mut BufReader<TcpStream>) -> Event {
    read_event(r, &Limits::default()).unwrap().expect("an event")
}

/// Reads one utterance's events; returns the samples received.
fn read_utterance(r: &mut BufReader<TcpStream>) -> Vec<i16> {
    let t = next(r);
    assert_eq!(t.kind, "transcribe");
    assert_eq!(t.data.get("language"), Some(&json!("en")));
    let start = next(r);
    assert_eq!(start.kind, "audio-start");
    assert_eq!(Value::Object(start.data), json!({"rate": 16000, "width": 2, "channels": 1}));
    let mut samples = Vec::new();
    loop {
        let e = next(r);
        match e.kind.as_str() {
            "audio-chunk" => {
                assert_eq!(e.data.get("rate"), Some(&json!(16000)));
                assert_eq!(e.data.get("width"), Some(&json!(2)));
                assert_eq!(e.data.get("channels"), Some(&json!(1)));
                assert!(e.payload.len() <= 2 * SAMPLES_PER_CHUNK && !e.payload.is_empty());
                samples.extend(e.payload.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
            }
            "audio-stop" => return samples,
            other => panic!("unexpected event {other}"),
        }
    }
}

fn answer_describe(r: &mut BufReader<TcpStream>, w: &mut TcpStream) {
    assert_eq!(next(r).kind, "describe");
    let info = json!({"asr": [{"name": "faster-whisper", "models": [{"name": "tiny-int8", "languages": ["en"]}]}]});
    Event::new("info").with_data(info).write_to(w).unwrap();
}

fn no_describe(timeout: Duration) -> WyomingOptions {
    WyomingOptions { describe: false, ..WyomingOptions::new(timeout) }
}

fn wyoming_err(e: VoiceError) -> WyomingError {
    match e {
        VoiceError::Wyoming { source, .. } => source,
        other => panic!("not a Wyoming error: {other}"),
    }
}

/// One utterance against a server answering with `reply` bytes; the error.
fn error_for_reply(reply: &'static [u8]) -> WyomingError {
    let (addr, server) = serve(1, move |_, r, w| {
        read_utterance(r);
        w.write_all(reply).unwrap();
    });
    let mut c = WyomingClient::connect_with(&addr, no_describe(T)).unwrap();
    let e = wyoming_err(c.transcribe(&[0.1; 100], &Bias::default()).unwrap_err());
    server.join().unwrap();
    e
}

#[test]
fn happy_path_sends_pcm_in_chunks_and_returns_the_transcript() {
    let (tx, rx) = mpsc::channel();
    let (addr, server) = serve(1, move |_, r, w| {
        answer_describe(r, w);
        tx.send(read_utterance(r)).unwrap();
        Event::new("transcript").with_data(json!({"text": "  Drive forward 2.5 meters. "})).write_to(w).unwrap();
    });
    let mut c = WyomingClient::connect(&format!("wyoming://{addr}"), T).unwrap();
    assert_eq!(c.info().unwrap().asr_models, ["faster-whisper/tiny-int8"]);
    assert_eq!(c.engine(), format!("wyoming:{addr}"));
    let audio: Vec<f32> = (0..2500).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
    let t = c.transcribe(&audio, &Bias::default()).unwrap();
    server.join().unwrap();
    assert_eq!(t.text, "drive forward 2.5 meters.");
    assert_eq!(t.engine, format!("wyoming:{addr}"));
    assert!((t.audio_seconds - 2500.0 / 16000.0).abs() < 1e-9);
    let got = rx.recv().unwrap();
    assert_eq!(got.len(), audio.len());
    for (g, a) in got.iter().zip(&audio) {
        assert!((f32::from(*g) / 32767.0 - a).abs() < 1e-4);
    }
}

#[test]
fn data_after_the_header_is_merged_and_unknown_events_are_skipped() {
    let (addr, server) = serve(1, |_, r, w| {
        read_utterance(r);
        // Unknown events, one with data and a payload the client must step over.
        w.write_all(b"{\"type\":\"ping\"}\n").unwrap();
        w.write_all(b"{\"type\":\"x-progress\",\"data_length\":9,\"payload_length\":4}\n{\"p\":0.5}\x00\n\xff\x01")
            .unwrap();
        // Inline data overridden by data_length data, as reference readers merge.
        let data = br#"{"text":"Turn LEFT"}"#;
        writeln!(
            w,
            "{{\"type\":\"transcript\",\"data\":{{\"text\":\"old\",\"language\":\"en\"}},\"data_length\":{}}}",
            data.len()
        )
        .unwrap();
        w.write_all(data).unwrap();
    });
    let mut c = WyomingClient::connect_with(&addr, no_describe(T)).unwrap();
    let t = c.transcribe(&[0.0; 10], &Bias::default()).unwrap();
    server.join().unwrap();
    assert_eq!(t.text, "turn left");
}

#[test]
fn a_server_closing_after_each_transcript_is_reconnected_to() {
    let (addr, server) = serve(3, |i, r, w| {
        if i == 0 {
            answer_describe(r, w);
        }
        read_utterance(r);
        Event::new("transcript").with_data(json!({"text": format!("utterance {i}")})).write_to(w).unwrap();
        // The connection closes here, as wyoming-faster-whisper's does.
    });
    let mut c = WyomingClient::connect(&addr, T).unwrap();
    assert_eq!(c.transcribe(&[0.2; 3000], &Bias::default()).unwrap().text, "utterance 0");
    assert_eq!(c.transcribe(&[0.2; 3000], &Bias::default()).unwrap().text, "utterance 1");
    assert_eq!(c.transcribe(&[0.2; 10], &Bias::default()).unwrap().text, "utterance 2");
    server.join().unwrap();
}

#[test]
fn malformed_headers_are_typed_errors() {
    assert!(matches!(error_for_reply(b"not json\n"), WyomingError::BadHeader { .. }));
    assert!(matches!(error_for_reply(b"[1,2]\n"), WyomingError::BadHeader { .. }));
    assert!(matches!(error_for_reply(b"{\"data\":{}}\n"), WyomingError::BadHeader { .. }));
    assert!(matches!(
        error_for_reply(b"{\"type\":\"transcript\",\"payload_length\":-1}\n"),
        WyomingError::BadHeader { .. }
    ));
    assert!(matches!(error_for_reply(b"{\"type\":\"transcript\",\"data\":7}\n"), WyomingError::BadHeader { .. }));
    assert!(matches!(
        error_for_reply(b"{\"type\":\"transcript\",\"data_length\":3}\n[1]"),
        WyomingError::BadData { .. }
    ));
    assert!(matches!(
        error_for_reply(b"{\"type\":\"transcript\",\"data\":{\"text\":5}}\n"),
        WyomingError::BadEvent { .. }
    ));
}

#[test]
fn an_oversized_header_line_is_refused_without_buffering_it() {
    let (addr, server) = serve(1, |_, r, w| {
        read_utterance(r);
        // A line that never ends: the client must stop at its limit.
        let junk = vec![b'a'; 256 * 1024];
        let _ = w.write_all(&junk);
    });
    let mut c = WyomingClient::connect_with(&addr, no_describe(T)).unwrap();
    let e = wyoming_err(c.transcribe(&[0.0; 10], &Bias::default()).unwrap_err());
    assert!(matches!(e, WyomingError::LineTooLong { limit: 65536 }), "{e}");
    server.join().unwrap();
}

#[test]
fn oversized_lengths_are_refused_before_reading() {
    let e = error_for_reply(b"{\"type\":\"transcript\",\"payload_length\":999999999999}\n");
    assert!(matches!(e, WyomingError::TooLarge { what: "event payload", .. }), "{e}");
    let e = error_for_reply(b"{\"type\":\"transcript\",\"data_length\":99999999}\n");
    assert!(matches!(e, WyomingError::TooLarge { what: "event data", .. }), "{e}");
}

#[test]
fn a_connection_closed_early_is_a_typed_error() {
    // Nothing at all on a kept connection: retried once on a new one, which
    // this one-connection server never serves. Whether the retry is refused,
    // reset or left waiting depends on when the server's listener closes, so
    // any typed failure of the retry is right; what matters is no transcript.
    let e = error_for_reply(b"");
    assert!(
        matches!(
            e,
            WyomingError::Connect(_) | WyomingError::Timeout | WyomingError::Closed { .. } | WyomingError::Io(_)
        ),
        "{e}"
    );
    assert!(matches!(error_for_reply(b"{\"type\":\"transcr"), WyomingError::Closed { during: "in an event header" }));
    assert!(matches!(
        error_for_reply(b"{\"type\":\"transcript\",\"data_length\":40}\n{\"text\""),
        WyomingError::Closed { during: "in event data" }
    ));
    assert!(matches!(
        error_for_reply(b"{\"type\":\"x\",\"payload_length\":40}\nabc"),
        WyomingError::Closed { during: "in an event payload" }
    ));
}

#[test]
fn a_server_that_never_replies_is_retried_once_then_reported() {
    let (addr, server) = serve(2, |_, r, _| {
        read_utterance(r);
    });
    let mut c = WyomingClient::connect_with(&addr, no_describe(T)).unwrap();
    let e = wyoming_err(c.transcribe(&[0.0; 10], &Bias::default()).unwrap_err());
    assert!(matches!(e, WyomingError::Closed { during: BEFORE_REPLY }), "{e}");
    server.join().unwrap();
}

#[test]
fn a_server_error_event_is_reported_with_its_text() {
    let e = error_for_reply(b"{\"type\":\"error\",\"data\":{\"text\":\"model not loaded\",\"code\":\"E1\"}}\n");
    match e {
        WyomingError::Server { text, code } => {
            assert_eq!(text, "model not loaded");
            assert_eq!(code.as_deref(), Some("E1"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_silent_server_times_out() {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (addr, server) = serve(1, move |_, r, _| {
        read_utterance(r);
        // Hold the connection open, say nothing.
        let _ = done_rx.recv_timeout(T);
    });
    let mut c = WyomingClient::connect_with(&addr, no_describe(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let e = wyoming_err(c.transcribe(&[0.0; 10], &Bias::default()).unwrap_err());
    assert!(matches!(e, WyomingError::Timeout), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    done_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn endless_unknown_events_end_at_the_limit() {
    let (addr, server) = serve(1, |_, r, w| {
        read_utterance(r);
        for _ in 0..20 {
            let _ = w.write_all(b"{\"type\":\"noise\"}\n");
        }
    });
    let opts = WyomingOptions { limits: Limits { max_skipped: 5, ..Limits::default() }, ..no_describe(T) };
    let mut c = WyomingClient::connect_with(&addr, opts).unwrap();
    let e = wyoming_err(c.transcribe(&[0.0; 10], &Bias::default()).unwrap_err());
    assert!(matches!(e, WyomingError::TooManyEvents { limit: 5 }), "{e}");
    server.join().unwrap();
}

#[test]
fn bad_addresses_and_refused_connections_are_errors() {
    for bad in ["localhost", "host:notaport", ":10300", "host:99999"] {
        let e = wyoming_err(WyomingClient::connect(bad, T).unwrap_err());
        assert!(matches!(e, WyomingError::Address { .. }), "{bad}: {e}");
    }
    // A port nobody listens on: bind one, then free it.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = wyoming_err(WyomingClient::connect(&format!("127.0.0.1:{port}"), T).unwrap_err());
    assert!(matches!(e, WyomingError::Connect(_)), "{e}");
}

#[test]
fn pcm_conversion_clips_and_silences_nan() {
    let bytes = pcm16(&[0.0, 1.0, -1.0, 2.0, -2.0, f32::NAN, 0.5]);
    let v: Vec<i16> = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    assert_eq!(v, [0, 32767, -32767, 32767, -32768, 0, 16384]);
}

fn parse_all(bytes: &[u8], limits: &Limits) -> Result<Vec<Event>, WyomingError> {
    let mut r = Cursor::new(bytes);
    let mut out = Vec::new();
    while let Some(e) = read_event(&mut r, limits)? {
        out.push(e);
    }
    Ok(out)
}

fn small_limits() -> Limits {
    Limits { max_line: 256, max_data: 256, max_payload: 1024, max_skipped: 100 }
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        "[a-z][a-z-]{0,12}",
        proptest::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,16}", 0..4),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(kind, data, payload)| Event {
            kind,
            data: data.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
            payload,
        })
}

proptest! {
    /// Any bytes: events or a typed error, never a panic, and the reader
    /// always ends (every event consumes at least its newline).
    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_all(&bytes, &small_limits());
    }

    /// Header-shaped garbage, which reaches deeper than random bytes.
    #[test]
    fn the_parser_never_panics_on_header_like_lines(
        kind in "[a-z\"]{0,6}",
        dl in prop_oneof![Just("0".to_string()), Just("-3".to_string()), "[0-9]{1,4}", Just("\"x\"".to_string())],
        pl in "[0-9]{1,4}",
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = format!("{{\"type\":\"{kind}\",\"data_length\":{dl},\"payload_length\":{pl}}}\n").into_bytes();
        bytes.extend(tail);
        let _ = parse_all(&bytes, &small_limits());
    }

    /// What the client writes, the reader reads back unchanged.
    #[test]
    fn events_round_trip(events in proptest::collection::vec(arb_event(), 0..5)) {
        let mut wire = Vec::new();
        for e in &events {
            e.write_to(&mut wire).unwrap();
        }
        prop_assert_eq!(parse_all(&wire, &Limits::default()).unwrap(), events);
    }
}

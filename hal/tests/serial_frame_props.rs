//! Property tests of the framing: the decoder survives any byte stream,
//! every message round-trips, and frames buried in garbage all come out.

use proptest::prelude::*;
use robot_hal::serial::frame::{self, FrameDecoder, MAX_FRAME};
use robot_hal::serial::protocol::{Protocol, ProtocolConfig};
use robot_hal::serial::{Frame, McuState, NackCode, Reply, Request};

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<i16>(), any::<i16>()).prop_map(|(l, r)| Request::SetWheels { left_mm_s: l, right_mm_s: r }),
        Just(Request::Stop),
        Just(Request::EStop),
        Just(Request::Rearm),
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(r, g, b)| Request::SetLed { r, g, b }),
        any::<bool>().prop_map(|close| Request::Gripper { close }),
        Just(Request::Ping),
        Just(Request::GetState),
    ]
}

fn state() -> impl Strategy<Value = McuState> {
    (
        (any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<i16>()),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(|((x, y, h), (range, mv, charge, temp), (line, est, closed, holding))| McuState {
            x_mm: x,
            y_mm: y,
            heading_cdeg: h,
            range_mm: range,
            battery_mv: mv,
            charge_permille: charge,
            temp_cdeg: temp,
            estop_line_low: line,
            estopped: est,
            gripper_closed: closed,
            holding,
        })
}

fn reply() -> impl Strategy<Value = Reply> {
    let code = prop_oneof![
        Just(NackCode::Estopped),
        Just(NackCode::OutOfRange),
        Just(NackCode::Unsupported),
        Just(NackCode::Fault),
    ];
    prop_oneof![
        any::<u16>().prop_map(|seq| Reply::Ack { seq }),
        (any::<u16>(), code).prop_map(|(seq, code)| Reply::Nack { seq, code }),
        (any::<u16>(), state()).prop_map(|(seq, state)| Reply::State { seq, state }),
    ]
}

fn decode_all<M: serde::de::DeserializeOwned>(bytes: &[u8]) -> Vec<Frame<M>> {
    let mut dec = FrameDecoder::<M>::new();
    bytes.iter().filter_map(|b| dec.push(*b)).filter_map(Result::ok).collect()
}

/// Whether `needle` occurs in order (not necessarily contiguously) in `hay`.
fn is_subsequence<T: PartialEq>(needle: &[T], hay: &[T]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

proptest! {
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_all::<Request>(&bytes);
        let _ = decode_all::<Reply>(&bytes);
        let mut proto = Protocol::new(ProtocolConfig::default());
        let _ = proto.receive(&bytes, std::time::Instant::now());
    }

    #[test]
    fn requests_round_trip(seq in any::<u16>(), msg in request()) {
        let f = Frame { seq, msg };
        let wire = frame::encode(&f).expect("fits");
        prop_assert!(wire.len() <= MAX_FRAME);
        prop_assert_eq!(decode_all::<Request>(&wire), vec![f]);
    }

    #[test]
    fn replies_round_trip(seq in any::<u16>(), msg in reply()) {
        let f = Frame { seq, msg };
        let wire = frame::encode(&f).expect("fits");
        prop_assert!(wire.len() <= MAX_FRAME);
        prop_assert_eq!(decode_all::<Reply>(&wire), vec![f]);
    }

    #[test]
    fn frames_in_garbage_are_all_recovered(
        parts in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..100), any::<u16>(), reply()),
            1..12,
        ),
        tail in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut stream = Vec::new();
        let mut sent = Vec::new();
        for (garbage, seq, msg) in parts {
            stream.extend_from_slice(&garbage);
            let f = Frame { seq, msg };
            stream.extend_from_slice(&frame::encode(&f).expect("fits"));
            sent.push(f);
        }
        stream.extend_from_slice(&tail);
        let got = decode_all::<Reply>(&stream);
        // Garbage could in principle form a valid frame of its own (a
        // CRC collision), so the sent frames must appear in order among
        // what was decoded rather than be all of it.
        prop_assert!(is_subsequence(&sent, &got), "sent {:?}\ngot {:?}", sent, got);
    }
}

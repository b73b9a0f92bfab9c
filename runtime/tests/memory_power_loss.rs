//! Power-loss test for the memory store: a writer process is killed with
//! SIGKILL in the middle of writing, again and again on one file. After every
//! kill the file must pass `PRAGMA integrity_check`, hold every record the
//! writer reported committed (it prints a record's uid only after the write
//! method returned, i.e. after COMMIT), hold no record twice, and hold each
//! multi-row batch whole or not at all.
//!
//! SIGKILL stops the process but not the kernel, so this exercises SQLite's
//! crash recovery of the WAL (a torn or half-written transaction is rolled
//! back on the next open); surviving a real power cut additionally relies on
//! `synchronous=FULL`, which a unit test checks is in force.
//!
//! The binary is its own writer: with `MEMORY_POWER_LOSS_CHILD` set it writes
//! until killed. It has no libtest harness (see runtime/Cargo.toml) so that
//! the writer is not disguised as a test.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use robot_hal::{Detection, Pose};
use robot_runtime::memory::{MemoryStore, NoteKind, ObjectFilter};

mod common;

const CHILD_ENV: &str = "MEMORY_POWER_LOSS_CHILD";
const ROUNDS: u64 = 24;
const BATCH: usize = 3;

fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    // `cargo test -- <filter>` passes arguments; honour a filter that excludes us.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !args.is_empty() && !args.iter().any(|a| "memory_power_loss".contains(a.as_str())) {
        return ExitCode::SUCCESS;
    }
    match parent() {
        Ok(summary) => {
            println!("memory_power_loss: ok ({summary})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("memory_power_loss: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Write notes, object batches and places until killed, reporting each
/// committed record on stdout.
fn child(spec: &str) -> ExitCode {
    let Some((path, round)) = spec.split_once('|') else { return ExitCode::FAILURE };
    let Ok(round) = round.parse::<u64>() else { return ExitCode::FAILURE };
    let store = match MemoryStore::open(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("child: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let t = round * 1_000_000 + i;
        let written: Result<Vec<String>, _> = if i % 5 == 4 {
            let seen: Vec<Detection> = (0..BATCH)
                .map(|k| Detection { label: format!("red thing {k}"), bearing_deg: 10.0 * k as f64, distance_m: 1.0 })
                .collect();
            store
                .record_objects(&seen, Pose::new(i as f64, 0.0, 0.0), t)
                .map(|v| v.into_iter().map(|o| format!("O {}", o.uid)).collect())
        } else if i % 7 == 6 {
            let name = format!("spot {}", i % 3);
            store
                .remember_place(&name, Pose::new(i as f64, 1.0, 0.0), t)
                .map(|p| vec![format!("P {} {}", p.outbox_seq, name)])
        } else {
            store.add_note(NoteKind::Note, &format!("round {round} note {i}"), t).map(|n| vec![format!("N {}", n.uid)])
        };
        match written {
            Ok(lines) => {
                // One write per record line, flushed before the next write starts.
                for l in lines {
                    if writeln!(out, "{l}").and_then(|_| out.flush()).is_err() {
                        return ExitCode::FAILURE;
                    }
                }
            }
            Err(e) => {
                eprintln!("child: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// What the writers reported committed, over all rounds.
#[derive(Default)]
struct Reported {
    notes: BTreeSet<String>,
    objects: BTreeSet<String>,
    /// Place name -> the highest sequence number reported for it.
    places: BTreeMap<String, i64>,
}

fn run_round(exe: &std::path::Path, db: &std::path::Path, round: u64, rep: &mut Reported) -> Result<usize, String> {
    let mut child = common::command(exe)
        .env(CHILD_ENV, format!("{}|{round}", db.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(mut v) = sink.lock() {
                v.push(line);
            }
        }
    });
    // Wait until the writer is writing, then let it run a varying while so
    // the kill lands at different points of a transaction.
    let start = Instant::now();
    while lines.lock().map(|v| v.is_empty()).unwrap_or(true) {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            return Err(format!("round {round}: the writer reported nothing in 10 s"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("round {round}: the writer exited early: {status}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(15 + (round * 37) % 90));
    child.kill().map_err(|e| format!("kill: {e}"))?;
    let _ = child.wait();
    reader.join().map_err(|_| "reader thread panicked")?;
    let lines = lines.lock().map_err(|_| "poisoned")?.clone();
    for l in &lines {
        let mut w = l.splitn(3, ' ');
        match (w.next(), w.next(), w.next()) {
            (Some("N"), Some(uid), None) => {
                rep.notes.insert(uid.to_string());
            }
            (Some("O"), Some(uid), None) => {
                rep.objects.insert(uid.to_string());
            }
            (Some("P"), Some(seq), Some(name)) => {
                let seq: i64 = seq.parse().map_err(|_| format!("bad line `{l}`"))?;
                let e = rep.places.entry(name.to_string()).or_default();
                *e = (*e).max(seq);
            }
            _ => return Err(format!("round {round}: malformed line `{l}`")),
        }
    }
    Ok(lines.len())
}

fn check(db: &std::path::Path, round: u64, rep: &Reported) -> Result<(), String> {
    let store = MemoryStore::open(db).map_err(|e| format!("round {round}: reopen: {e}"))?;
    let integrity = store.integrity_check().map_err(|e| e.to_string())?;
    if integrity != "ok" {
        return Err(format!("round {round}: integrity_check: {integrity}"));
    }
    let notes = store.notes(None, usize::MAX).map_err(|e| e.to_string())?;
    let objects = store.objects(&ObjectFilter::default()).map_err(|e| e.to_string())?;
    let places = store.places().map_err(|e| e.to_string())?;
    let note_uids: BTreeSet<_> = notes.iter().map(|n| n.uid.clone()).collect();
    let note_texts: BTreeSet<_> = notes.iter().map(|n| n.text.clone()).collect();
    if note_uids.len() != notes.len() || note_texts.len() != notes.len() {
        return Err(format!("round {round}: a note is stored twice"));
    }
    if let Some(lost) = rep.notes.difference(&note_uids).next() {
        return Err(format!("round {round}: committed note {lost} is missing"));
    }
    let object_uids: BTreeSet<_> = objects.iter().map(|o| o.uid.clone()).collect();
    if object_uids.len() != objects.len() {
        return Err(format!("round {round}: an object is stored twice"));
    }
    if let Some(lost) = rep.objects.difference(&object_uids).next() {
        return Err(format!("round {round}: committed object {lost} is missing"));
    }
    // A batch is one transaction: all of it or none.
    let mut per_look: BTreeMap<u64, usize> = BTreeMap::new();
    for o in &objects {
        *per_look.entry(o.seen_at_us).or_default() += 1;
    }
    if let Some((t, n)) = per_look.iter().find(|(_, n)| **n != BATCH) {
        return Err(format!("round {round}: the look at {t} us has {n} of {BATCH} objects"));
    }
    for (name, seq) in &rep.places {
        match places.iter().find(|p| &p.name == name) {
            Some(p) if p.outbox_seq >= *seq => {}
            other => return Err(format!("round {round}: place `{name}` (seq {seq}) missing or older: {other:?}")),
        }
    }
    // Sequence numbers are unique and never behind the counter.
    let mut seqs: Vec<i64> = notes.iter().map(|n| n.outbox_seq).collect();
    seqs.extend(objects.iter().map(|o| o.outbox_seq));
    seqs.extend(places.iter().map(|p| p.outbox_seq));
    let unique: BTreeSet<_> = seqs.iter().copied().collect();
    if unique.len() != seqs.len() {
        return Err(format!("round {round}: a sequence number is used twice"));
    }
    let last = store.last_seq().map_err(|e| e.to_string())?;
    if unique.last().is_some_and(|m| *m > last) {
        return Err(format!("round {round}: a record's sequence number is past the counter {last}"));
    }
    Ok(())
}

fn parent() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("memory.db");
    let mut rep = Reported::default();
    let started = Instant::now();
    let mut total = 0;
    for round in 1..=ROUNDS {
        total += run_round(&exe, &db, round, &mut rep)?;
        check(&db, round, &rep)?;
    }
    if rep.notes.is_empty() || rep.objects.is_empty() || rep.places.is_empty() {
        return Err("the writers never committed every kind of record".into());
    }
    Ok(format!("{ROUNDS} kills, {total} committed records checked, {:.1} s", started.elapsed().as_secs_f64()))
}

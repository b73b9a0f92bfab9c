//! `robot memory search` and `robot host memory ROBOT search`: find
//! records by meaning with the sentence embedder in `models/embed/`, with a
//! kind and time filter. Both commands share the arguments and the output
//! here; the search itself is `MemoryStore::search` on the robot's file and
//! `HostDb::semantic_search` on the host's mirror.
//!
//! Times (`--since`, `--until`) are RFC 3339 (`2026-11-28T09:30:00Z`,
//! offsets allowed), a span back from now (`90s`, `15m`, `2h`, `3d`, `1w`),
//! or a plain number of microseconds on the store's clock (simulated runs
//! start their clock at 0, so wall-clock times do not fit them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use robot_models::embed::Embedder;
use robot_runtime::host::HostDb;
use robot_runtime::memory::{MemoryStore, RecordKind, SearchFilter};

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// What to look for; several words are joined with spaces.
    #[arg(required = true, num_args = 1..)]
    pub text: Vec<String>,
    /// Only this kind of record: place, object, episode or note.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<RecordKind>,
    /// Only records at or after TIME: RFC 3339 (2026-11-28T09:30:00Z), a
    /// span back from now (90s, 15m, 2h, 3d, 1w) or microseconds on the
    /// store's clock (a plain number).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records at or before TIME (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many results, best first.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// The embedding model folder (default: models/embed, found like the
    /// brain's folder).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
}

fn parse_kind(s: &str) -> Result<RecordKind, String> {
    RecordKind::parse(s).ok_or_else(|| format!("`{s}` is not a kind (place, object, episode, note)"))
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str, what: &str) -> anyhow::Result<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        bail!("bad {what} `{s}`");
    }
    Ok(s.parse()?)
}

/// RFC 3339 to microseconds since the Unix epoch.
fn parse_rfc3339(s: &str) -> anyhow::Result<u64> {
    let (date, rest) = s.split_once(['T', 't', ' ']).context("expected a date and a time")?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (d.next().unwrap_or(""), d.next().unwrap_or(""), d.next().unwrap_or(""));
    let (y, m, day) = (num(y, "year")?, num(m, "month")?, num(day, "day")?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        bail!("date out of range");
    }
    // The offset: `Z`, or `+hh:mm` / `-hh:mm` after the seconds.
    let (clock, offset_s) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let (h, mi) = off[1..].split_once(':').context("offset must be +hh:mm")?;
        let secs = num(h, "offset hours")? * 3600 + num(mi, "offset minutes")? * 60;
        (c, if off.starts_with('-') { -secs } else { secs })
    } else {
        bail!("missing offset (`Z` or +hh:mm)");
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec) = (
        num(t.next().unwrap_or(""), "hour")?,
        num(t.next().unwrap_or(""), "minute")?,
        num(t.next().unwrap_or(""), "second")?,
    );
    if h > 23 || mi > 59 || sec > 60 {
        bail!("time out of range");
    }
    let micros = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        num(&digits, "fraction")?
    };
    let secs = days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    let us = secs.checked_mul(1_000_000).and_then(|v| v.checked_add(micros)).context("time out of range")?;
    u64::try_from(us).context("time before 1970")
}

/// A `--since`/`--until` value as microseconds (see the module docs).
pub fn parse_time(s: &str, now_us: u64) -> anyhow::Result<u64> {
    let s = s.trim();
    if let Ok(us) = s.parse::<u64>() {
        return Ok(us);
    }
    let unit = match s.chars().last() {
        Some('s') => Some(1),
        Some('m') => Some(60),
        Some('h') => Some(3600),
        Some('d') => Some(86_400),
        Some('w') => Some(604_800),
        _ => None,
    };
    // The unit letters are ASCII, so cutting one byte stays on a char boundary.
    if let Some(n) = unit.and_then(|u| s[..s.len() - 1].parse::<u64>().ok().map(|n| n.saturating_mul(u))) {
        return Ok(now_us.saturating_sub(n.saturating_mul(1_000_000)));
    }
    parse_rfc3339(s).with_context(|| format!("`{s}` is not a time (RFC 3339, 2h, 3d, or microseconds)"))
}

impl SearchArgs {
    fn query(&self) -> String {
        self.text.join(" ")
    }

    fn filter(&self) -> anyhow::Result<SearchFilter> {
        let now = now_us();
        let since = self.since.as_deref().map(|s| parse_time(s, now)).transpose()?;
        let until = self.until.as_deref().map(|s| parse_time(s, now)).transpose()?;
        Ok(SearchFilter { kind: self.kind, since_us: since, until_us: until, limit: self.limit })
    }

    fn embedder(&self) -> anyhow::Result<Embedder> {
        let dir = self.model.clone().unwrap_or_else(|| robot_runtime::assets::model_dir("embed"));
        load_embedder(&dir)
    }
}

fn load_embedder(dir: &Path) -> anyhow::Result<Embedder> {
    Embedder::load(dir).with_context(|| format!("cannot load the embedding model from {}", dir.display()))
}

/// `robot memory search` on an open store.
pub fn robot(store: &MemoryStore, a: &SearchArgs, json: bool) -> anyhow::Result<()> {
    let filter = a.filter()?;
    store.attach_embedder(Arc::new(a.embedder()?))?;
    let hits = store.search(&a.query(), &filter)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else {
        for h in &hits {
            let r = &h.record;
            println!("{:.3}  {:<8} {:>12.3} s  {}  [{}]", h.score, r.kind.as_str(), r.t_us as f64 / 1e6, r.text, r.key);
        }
    }
    Ok(())
}

/// `robot host memory ROBOT search` on the host database.
pub fn host(db: &HostDb, robot_id: &str, a: &SearchArgs, json: bool) -> anyhow::Result<()> {
    let filter = a.filter()?;
    let embedder = a.embedder()?;
    let hits = db.semantic_search(&embedder, robot_id, &a.query(), &filter)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
    } else {
        for h in &hits {
            println!("{:.3}  {:>8}  {:<8} {}", h.score, h.record.seq, h.record.kind, h.text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_form() {
        let now = 10_000_000_000_000;
        assert_eq!(parse_time("1234", now).unwrap(), 1234);
        assert_eq!(parse_time("2h", now).unwrap(), now - 7_200_000_000);
        assert_eq!(parse_time("3d", 0).unwrap(), 0);
        assert_eq!(parse_time("1970-01-01T00:00:01Z", now).unwrap(), 1_000_000);
        assert_eq!(parse_time("2026-11-28T09:30:00.5Z", now).unwrap(), 1_795_858_200_500_000);
        assert_eq!(parse_time("2026-11-28T10:30:00+01:00", now).unwrap(), 1_795_858_200_000_000);
        for bad in [
            "",
            "h",
            "2é",
            "é",
            "yesterday",
            "2h30",
            "2026-13-01T00:00:00Z",
            "2026-11-28T09:30:00",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_model_is_an_error_not_a_panic() {
        let e = load_embedder(Path::new("/nonexistent/embed")).unwrap_err();
        assert!(format!("{e:#}").contains("file is missing"), "{e:#}");
    }
}

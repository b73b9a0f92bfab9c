//! Retention: row caps that keep the memory file bounded on an SD card.
//!
//! Each append-only table has a maximum row count. Every insert enforces it in
//! the same transaction by deleting the oldest rows (lowest `id`, which is
//! insertion order), so the table never holds more than its cap after a
//! commit, and a crash cannot leave it over the cap. Places are capped too,
//! but board places are never deleted: only the least recently updated
//! remembered or fleet places go. With the defaults and typical row sizes
//! (about 100 B an object, 2 KiB an episode with its steps) the file stays
//! in the tens of megabytes; SQLite reuses the freed pages, so the file stops
//! growing once the caps are reached.

use rusqlite::Transaction;

use super::MemoryError;

/// Maximum rows per table. A cap of 0 keeps nothing of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_objects: usize,
    pub max_episodes: usize,
    pub max_notes: usize,
    /// Remembered and fleet places (board places do not count and stay).
    pub max_places: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { max_objects: 100_000, max_episodes: 10_000, max_notes: 10_000, max_places: 1_000 }
    }
}

/// The append-only tables a cap applies to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Objects,
    Episodes,
    Notes,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Objects => "objects_seen",
            Table::Episodes => "episodes",
            Table::Notes => "notes",
        }
    }
}

impl Retention {
    fn cap(&self, table: Table) -> usize {
        match table {
            Table::Objects => self.max_objects,
            Table::Episodes => self.max_episodes,
            Table::Notes => self.max_notes,
        }
    }

    /// Delete the oldest rows of `table` beyond its cap; returns how many went.
    pub(crate) fn enforce(&self, tx: &Transaction<'_>, table: Table) -> Result<usize, MemoryError> {
        let cap = i64::try_from(self.cap(table)).unwrap_or(i64::MAX);
        // The newest `cap` ids survive; the lookup walks the primary key.
        let sql = format!(
            "DELETE FROM {t} WHERE id <= COALESCE((SELECT id FROM {t} ORDER BY id DESC LIMIT 1 OFFSET ?1), -1)",
            t = table.name()
        );
        Ok(tx.execute(&sql, [cap])?)
    }

    /// Delete the least recently updated non-board places beyond the cap.
    pub(crate) fn enforce_places(&self, tx: &Transaction<'_>) -> Result<usize, MemoryError> {
        let cap = i64::try_from(self.max_places).unwrap_or(i64::MAX);
        Ok(tx.execute(
            "DELETE FROM places WHERE source != 'board' AND name NOT IN \
             (SELECT name FROM places WHERE source != 'board' ORDER BY outbox_seq DESC LIMIT ?1)",
            [cap],
        )?)
    }
}

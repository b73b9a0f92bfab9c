//! Place memory and roadmap routing for `go_to`, `dock` and `remember_place`.
//!
//! Places start from the board file (names, aliases, poses) and grow with
//! `remember_place`. Routes follow the board's roadmap: straight segments
//! between places and doorway waypoints known to be drivable. A remembered
//! place that is not on the roadmap is reached from the roadmap node
//! nearest to it.
//!
//! With a [`MemoryStore`] attached ([`PlaceMemory::with_store`]) the places
//! survive restarts: remembered and fleet places are loaded from the store at
//! start and `remember` writes through to it before the in-memory map
//! changes. Without one (tests, replays) the map lives only in memory. The
//! roadmap itself always comes from the board file.

use std::collections::{BTreeMap, BinaryHeap};

use robot_hal::board::BoardFile;
use robot_hal::Pose;

use crate::memory::{MemoryError, MemoryStore, PlaceSource};

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub pose: Pose,
    /// Whether the place's heading matters (declared or remembered).
    pub has_heading: bool,
}

/// Known places and the roadmap between them.
#[derive(Debug, Clone, Default)]
pub struct PlaceMemory {
    places: BTreeMap<String, Place>,
    aliases: BTreeMap<String, String>,
    /// Roadmap nodes (places and waypoints) by name, with positions.
    nodes: BTreeMap<String, Pose>,
    edges: Vec<(String, String)>,
    /// Where places persist, when attached.
    store: Option<MemoryStore>,
}

/// Normalise a spoken place name: lower case, no article or possessive.
pub fn normalise(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    while let Some(first) = words.first() {
        if matches!(*first, "the" | "a" | "an" | "my" | "your" | "our" | "their") {
            words.remove(0);
        } else {
            break;
        }
    }
    words.join(" ")
}

impl PlaceMemory {
    pub fn from_board(board: &BoardFile) -> PlaceMemory {
        let mut m = PlaceMemory::default();
        for p in &board.places {
            m.places.insert(
                p.name.clone(),
                Place {
                    name: p.name.clone(),
                    pose: Pose::new(p.x, p.y, p.heading_deg.unwrap_or(0.0)),
                    has_heading: p.heading_deg.is_some(),
                },
            );
            for a in &p.aliases {
                m.aliases.insert(a.clone(), p.name.clone());
            }
        }
        for p in board.places.iter().chain(&board.waypoints) {
            m.nodes.insert(p.name.clone(), Pose::new(p.x, p.y, 0.0));
        }
        for [a, b] in &board.navigation.roadmap {
            m.edges.push((a.clone(), b.clone()));
        }
        m
    }

    /// Places from the board plus those kept in `store`: the board's places
    /// are written to the store (so it lists every place the robot knows),
    /// then remembered and fleet places from earlier runs are loaded over
    /// them. `t_us` is the injected clock's time, for the board places written.
    pub fn with_store(board: &BoardFile, store: MemoryStore, t_us: u64) -> Result<PlaceMemory, MemoryError> {
        let mut m = PlaceMemory::from_board(board);
        let declared: Vec<(String, Pose, bool)> =
            m.places.values().map(|p| (p.name.clone(), p.pose, p.has_heading)).collect();
        store.sync_board_places(&declared, t_us)?;
        for p in store.places()? {
            if p.source != PlaceSource::Board {
                m.places.insert(p.name.clone(), Place { name: p.name, pose: p.pose, has_heading: p.has_heading });
            }
        }
        m.store = Some(store);
        Ok(m)
    }

    /// The memory store behind these places, if one is attached.
    pub fn store(&self) -> Option<&MemoryStore> {
        self.store.as_ref()
    }

    pub fn get(&self, name: &str) -> Option<&Place> {
        let n = normalise(name);
        let key = self.aliases.get(&n).unwrap_or(&n);
        self.places.get(key)
    }

    pub fn names(&self) -> Vec<String> {
        self.places.keys().cloned().collect()
    }

    /// Store (or move) a place at a pose, at time `t_us` on the injected
    /// clock; returns the name it is stored under. With a store attached the
    /// place is durable before the map changes, so a failed write leaves both
    /// as they were.
    pub fn remember(&mut self, name: &str, pose: Pose, t_us: u64) -> Result<String, MemoryError> {
        let n = normalise(name);
        let key = self.aliases.get(&n).cloned().unwrap_or(n);
        if key.is_empty() {
            return Err(MemoryError::Invalid("a place needs a name".into()));
        }
        if let Some(store) = &self.store {
            store.remember_place(&key, pose, t_us)?;
        }
        self.places.insert(key.clone(), Place { name: key.clone(), pose, has_heading: true });
        Ok(key)
    }

    fn nearest_node(&self, x: f64, y: f64) -> Option<(&String, &Pose)> {
        self.nodes.iter().min_by(|a, b| {
            let da = (a.1.x - x).hypot(a.1.y - y);
            let db = (b.1.x - x).hypot(b.1.y - y);
            da.total_cmp(&db)
        })
    }

    /// Waypoints from `from` to the place `to` (excluding the start, ending at
    /// the place), or `None` if the place is unknown.
    pub fn route(&self, from: Pose, to: &str) -> Option<Vec<Pose>> {
        let target = self.get(to)?.clone();
        if self.nodes.is_empty() {
            return Some(vec![target.pose]);
        }
        let (start_name, _) = self.nearest_node(from.x, from.y)?;
        let goal_name = if self.nodes.contains_key(&target.name) {
            target.name.clone()
        } else {
            self.nearest_node(target.pose.x, target.pose.y)?.0.clone()
        };
        let mut path = self.dijkstra(start_name, &goal_name)?;
        // Skip the first node when we are already on it.
        if let Some(first) = path.first() {
            if first.distance_to(&from) < 0.05 {
                path.remove(0);
            }
        }
        if !self.nodes.contains_key(&target.name) {
            path.push(target.pose);
        } else if let Some(last) = path.last_mut() {
            *last = target.pose;
        } else {
            path.push(target.pose);
        }
        Some(path)
    }

    fn dijkstra(&self, start: &str, goal: &str) -> Option<Vec<Pose>> {
        #[derive(PartialEq)]
        struct Item(f64, String);
        impl Eq for Item {}
        impl PartialOrd for Item {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Item {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                o.0.total_cmp(&self.0).then_with(|| o.1.cmp(&self.1))
            }
        }
        let mut dist: BTreeMap<&str, f64> = BTreeMap::new();
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut heap = BinaryHeap::new();
        dist.insert(start, 0.0);
        heap.push(Item(0.0, start.to_string()));
        while let Some(Item(d, n)) = heap.pop() {
            if n == goal {
                break;
            }
            if d > *dist.get(n.as_str()).unwrap_or(&f64::INFINITY) {
                continue;
            }
            let here = self.nodes[&n];
            for (a, b) in &self.edges {
                let other = if *a == n {
                    b
                } else if *b == n {
                    a
                } else {
                    continue;
                };
                let Some(op) = self.nodes.get(other) else { continue };
                let nd = d + here.distance_to(op);
                if nd < *dist.get(other.as_str()).unwrap_or(&f64::INFINITY) {
                    dist.insert(other.as_str(), nd);
                    prev.insert(other.clone(), n.clone());
                    heap.push(Item(nd, other.clone()));
                }
            }
        }
        if !dist.contains_key(goal) {
            return None;
        }
        let mut names = vec![goal.to_string()];
        while let Some(p) = prev.get(names.last()?) {
            names.push(p.clone());
        }
        names.reverse();
        Some(names.iter().map(|n| self.nodes[n]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> BoardFile {
        BoardFile::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../boards/sim-rover.toml")).unwrap()
    }

    #[test]
    fn aliases_and_articles_resolve() {
        let m = PlaceMemory::from_board(&board());
        assert_eq!(m.get("the charger").unwrap().name, "dock");
        assert_eq!(m.get("The Kitchen").unwrap().name, "kitchen");
        assert!(m.get("attic").is_none());
    }

    #[test]
    fn route_goes_through_doorways() {
        let m = PlaceMemory::from_board(&board());
        let r = m.route(Pose::default(), "kitchen").unwrap();
        let last = r.last().unwrap();
        assert!((last.x - 6.0).abs() < 1e-9 && (last.y - 4.75).abs() < 1e-9);
        // Enters the kitchen through its doorway point in the hallway.
        assert!(r.iter().any(|p| (p.x - 6.0).abs() < 1e-9 && (p.y - 0.65).abs() < 1e-9));
    }

    #[test]
    fn remembered_place_is_routable() {
        let mut m = PlaceMemory::from_board(&board());
        m.remember("my reading corner", Pose::new(2.0, 5.5, 90.0), 0).unwrap();
        let r = m.route(Pose::default(), "reading corner").unwrap();
        assert_eq!(*r.last().unwrap(), Pose::new(2.0, 5.5, 90.0));
    }

    #[test]
    fn empty_name_is_refused() {
        let mut m = PlaceMemory::from_board(&board());
        assert!(matches!(m.remember(" the ", Pose::default(), 0), Err(MemoryError::Invalid(_))));
    }

    #[test]
    fn remembered_places_survive_a_restart_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.db");
        {
            let mut m = PlaceMemory::with_store(&board(), MemoryStore::open(&path).unwrap(), 10).unwrap();
            m.remember("my reading corner", Pose::new(2.0, 5.5, 90.0), 20).unwrap();
            // A board place moved by the operator stays moved.
            m.remember("the charger", Pose::new(0.5, 0.5, 180.0), 30).unwrap();
        }
        let store = MemoryStore::open(&path).unwrap();
        let m = PlaceMemory::with_store(&board(), store.clone(), 40).unwrap();
        assert_eq!(m.get("reading corner").unwrap().pose, Pose::new(2.0, 5.5, 90.0));
        assert_eq!(m.get("dock").unwrap().pose, Pose::new(0.5, 0.5, 180.0));
        assert_eq!(store.place("dock").unwrap().unwrap().source, PlaceSource::Remembered);
        // Board places are listed in the store too, and a restart rewrote nothing.
        let kitchen = store.place("kitchen").unwrap().unwrap();
        assert_eq!((kitchen.source, kitchen.updated_at_us), (PlaceSource::Board, 10));
        assert!(m.route(Pose::default(), "reading corner").is_some());
    }
}

//! Where the `robot` command finds its data files (the brain's models, the
//! board files) whether it runs from a source checkout or was installed by
//! the Debian package (`packaging/`), which puts models under
//! `/usr/share/robot/models`, board files under `/usr/share/robot/boards`
//! and links the chosen board to `/etc/robot/board.toml`.
//!
//! Search order for a model folder such as `brain`:
//! 1. `$ROBOT_MODELS/<name>` when `ROBOT_MODELS` is set (then only there, so
//!    a wrong setting is reported instead of silently bypassed);
//! 2. `./models/<name>` (a checkout, or a copy beside the binary's cwd);
//! 3. `<exe>/../share/robot/models/<name>` (an install under any prefix);
//! 4. `/usr/share/robot/models/<name>` (the package);
//! 5. the checkout the binary was built from (`cargo run` from elsewhere).
//!
//! Board files follow the same order with `./boards`, `share/robot/boards`.

use std::path::{Path, PathBuf};

/// Overrides the models' root folder.
pub const MODELS_ENV: &str = "ROBOT_MODELS";
/// Where the package installs the models.
pub const SYSTEM_MODELS: &str = "/usr/share/robot/models";
/// Where the package installs every board file.
pub const SYSTEM_BOARDS: &str = "/usr/share/robot/boards";
/// The board the package chose at install time (a link into [`SYSTEM_BOARDS`]).
pub const INSTALLED_BOARD: &str = "/etc/robot/board.toml";

/// The roots searched for models, in order (see the module doc).
pub fn model_roots() -> Vec<PathBuf> {
    if let Some(root) = std::env::var_os(MODELS_ENV).filter(|v| !v.is_empty()) {
        return vec![PathBuf::from(root)];
    }
    roots("models")
}

/// The roots searched for board files, in order.
pub fn board_roots() -> Vec<PathBuf> {
    roots("boards")
}

fn roots(kind: &str) -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(kind)];
    if let Some(prefix) = exe_prefix() {
        v.push(prefix.join("share/robot").join(kind));
    }
    v.push(Path::new("/usr/share/robot").join(kind));
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(kind));
    v
}

/// `/usr` for `/usr/bin/robot`.
fn exe_prefix() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.to_path_buf())
}

/// The first `root/name` that exists; else `roots[0]/name`, so the error a
/// caller reports names the place a user would look first.
pub fn first_existing(roots: &[PathBuf], name: &str, exists: impl Fn(&Path) -> bool) -> PathBuf {
    roots
        .iter()
        .map(|r| r.join(name))
        .find(|p| exists(p))
        .unwrap_or_else(|| roots.first().map(|r| r.join(name)).unwrap_or_else(|| PathBuf::from(name)))
}

/// The folder of model `name` (e.g. `brain`).
pub fn model_dir(name: &str) -> PathBuf {
    first_existing(&model_roots(), name, Path::exists)
}

/// A board file shipped with the runtime (e.g. `sim-rover.toml`).
pub fn board_file(name: &str) -> PathBuf {
    first_existing(&board_roots(), name, Path::exists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_existing_root_wins_in_order() {
        let roots = vec![PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")];
        let found = first_existing(&roots, "brain", |p| p == Path::new("b/brain") || p == Path::new("c/brain"));
        assert_eq!(found, PathBuf::from("b/brain"));
    }

    #[test]
    fn nothing_found_names_the_first_place() {
        let roots = vec![PathBuf::from("x"), PathBuf::from("/usr/share/robot/models")];
        assert_eq!(first_existing(&roots, "brain", |_| false), PathBuf::from("x/brain"));
        assert_eq!(first_existing(&[], "brain", |_| false), PathBuf::from("brain"));
    }

    #[test]
    fn installed_locations_are_searched_after_the_working_directory() {
        let r = roots("models");
        assert_eq!(r[0], PathBuf::from("models"));
        let system = r.iter().position(|p| p == Path::new(SYSTEM_MODELS)).expect("system models searched");
        assert!(system > 0);
        assert!(r.last().is_some_and(|p| p.ends_with("../models")), "the build checkout comes last: {r:?}");
    }
}

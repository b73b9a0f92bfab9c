//! What the program-running devices share: how a failed spawn maps onto an
//! [`ErrorKind`], and how a command line is shown in messages.

use std::io;

use crate::ErrorKind;

/// A program that is not installed or not executable is a capability this
/// host lacks, not a transient fault.
pub(crate) fn spawn_error_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => ErrorKind::Unsupported,
        _ => ErrorKind::Fault,
    }
}

/// Advice to append to a spawn error, for the operator reading the log.
pub(crate) fn spawn_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => " (is it installed and on PATH?)",
        io::ErrorKind::PermissionDenied => " (is it executable?)",
        _ => "",
    }
}

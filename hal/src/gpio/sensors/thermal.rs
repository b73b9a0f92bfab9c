//! The SoC temperature from a Linux thermal zone
//! (`/sys/class/thermal/thermal_zone0/temp`, millidegrees Celsius). On a
//! Pi zone 0 is the CPU; on a Jetson Orin zone 0 is the CPU cluster too.

use std::io::ErrorKind as IoKind;
use std::path::PathBuf;

use super::error::SensorError;
use crate::capability::Thermometer;
use crate::{ErrorKind, ErrorType};

/// The usual SoC zone.
pub const DEFAULT_THERMAL_ZONE: &str = "/sys/class/thermal/thermal_zone0/temp";

/// A thermal-zone `temp` file read as a [`Thermometer`].
#[derive(Debug, Clone)]
pub struct ThermalZone {
    path: PathBuf,
}

impl ThermalZone {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl ErrorType for ThermalZone {
    type Error = SensorError;
}

impl Thermometer for ThermalZone {
    fn celsius(&mut self) -> Result<f64, SensorError> {
        let path = self.path.display().to_string();
        let text = std::fs::read_to_string(&self.path).map_err(|e| SensorError::File {
            path: path.clone(),
            kind: if e.kind() == IoKind::NotFound { ErrorKind::Unsupported } else { ErrorKind::Fault },
            message: e.to_string(),
        })?;
        let milli: i64 = text.trim().parse().map_err(|_| SensorError::File {
            path,
            kind: ErrorKind::Fault,
            message: format!("`{}` is not millidegrees Celsius", text.trim()),
        })?;
        Ok(milli as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error as _;

    #[test]
    fn reads_millidegrees_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("temp");
        std::fs::write(&path, "48312\n").unwrap();
        let mut t = ThermalZone::new(&path);
        assert_eq!(t.celsius().unwrap(), 48.312);
        std::fs::write(&path, "hot").unwrap();
        assert_eq!(t.celsius().unwrap_err().kind(), ErrorKind::Fault);
        let e = ThermalZone::new(dir.path().join("missing")).celsius().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}

//! `ROBOT_KERNELS=reference` forces the reference path. A test binary of its
//! own because the choice is read once per process.

use robot_models::kernels::{KernelPath, KERNELS_ENV};

#[test]
fn env_var_forces_reference() {
    std::env::set_var(KERNELS_ENV, "reference");
    assert_eq!(KernelPath::active(), KernelPath::Reference);
}

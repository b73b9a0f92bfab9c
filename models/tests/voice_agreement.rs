//! The "say that again" decision of `robot_models::voice::agreement`, on the
//! committed brain: runner-up readings that plan the same thing leave the
//! best plan clear, a close runner-up that plans something else withholds
//! it, far runners-up and refusals cost no brain run, and planning stops
//! once the rest of the readings cannot change the decision. Skipped, with
//! a message, when the brain folder is absent.

use std::path::Path;

use robot_hal::board::BoardFile;
use robot_models::brain::{Brain, PlanStatus};
use robot_models::voice::{understand, AgreementConfig, Alternative};

fn brain() -> Option<Brain> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("models/brain");
    if !dir.join("encoder.onnx").exists() {
        eprintln!("skipped: models/brain is absent");
        return None;
    }
    let registry = BoardFile::load(root.join("boards/sim-rover.toml")).expect("the sim board loads").registry();
    Some(Brain::load(&dir, &registry).expect("the committed brain loads"))
}

fn alt(text: &str, score: f32) -> Alternative {
    Alternative { text: text.into(), score }
}

#[test]
fn readings_vote_on_the_plan_with_the_recognizer_probability() {
    let Some(mut b) = brain() else { return };
    let cfg = AgreementConfig::default();

    // A close runner-up with another distance: withheld, and the rival is named.
    let u = understand(&mut b, "drive forward 2 meters", &[alt("drive forward 3 meters", -0.2)], &cfg).unwrap();
    assert!(!u.is_clear());
    assert_eq!(u.plan.program_text(), "drive(distance_m=2)");
    let rival = u.rival.as_ref().expect("the disagreeing reading");
    assert_eq!(rival.text, "drive forward 3 meters");
    assert_eq!(rival.plan.program_text(), "drive(distance_m=3)");
    let expected = 1.0 / (1.0 + (-0.2f32).exp());
    assert!((u.agreement - expected).abs() < 1e-4, "{}", u.agreement);
    assert_eq!(u.readings, 2);

    // The same runner-up far less likely leaves the plan clear.
    let u = understand(&mut b, "drive forward 2 meters", &[alt("drive forward 3 meters", -3.0)], &cfg).unwrap();
    assert!(u.is_clear(), "{}", u.agreement);

    // A runner-up worded differently with the same plan agrees.
    let same = [alt("please drive forward two meters", -0.1)];
    let u = understand(&mut b, "drive forward 2 meters", &same, &cfg).unwrap();
    assert!(u.is_clear());
    assert!(u.rival.is_none());
    assert!((u.agreement - 1.0).abs() < 1e-6);
}

#[test]
fn far_readings_and_refusals_cost_no_brain_run() {
    let Some(mut b) = brain() else { return };
    let cfg = AgreementConfig::default();
    let far = [alt("drive forward 3 meters", -(cfg.margin + 1.0))];
    let u = understand(&mut b, "drive forward 2 meters", &far, &cfg).unwrap();
    assert!(u.is_clear());
    assert_eq!(u.readings, 1);

    // A refusal stays a refusal whatever the runners-up would plan.
    let u = understand(&mut b, "fly to the moon", &[alt("drive to the moon", -0.1)], &cfg).unwrap();
    assert_eq!(u.plan.status, PlanStatus::Unsupported);
    assert!(u.is_clear());
    assert_eq!(u.readings, 1);

    // Nothing is planned when the threshold is off.
    let off = AgreementConfig { min_agreement: 0.0, ..cfg.clone() };
    let u = understand(&mut b, "drive forward 2 meters", &[alt("drive forward 3 meters", 0.0)], &off).unwrap();
    assert!(u.is_clear());
    assert_eq!(u.readings, 1);
}

#[test]
fn planning_stops_once_the_rest_cannot_change_the_decision() {
    let Some(mut b) = brain() else { return };
    let cfg = AgreementConfig::default();
    // After the agreeing first runner-up, even a disagreeing second cannot
    // pull the share under 0.7: (1 + e^-0.1) / (1 + e^-0.1 + e^-1.5) = 0.89.
    let alts = [alt("please drive forward two meters", -0.1), alt("drive forward 3 meters", -1.5)];
    let u = understand(&mut b, "drive forward 2 meters", &alts, &cfg).unwrap();
    assert!(u.is_clear());
    assert_eq!(u.readings, 2);
    assert!(u.rival.is_none());

    // A disagreeing first runner-up already sinks it: the second is not planned.
    let alts = [alt("drive forward 3 meters", 0.0), alt("please drive forward two meters", -0.5)];
    let u = understand(&mut b, "drive forward 2 meters", &alts, &cfg).unwrap();
    assert!(!u.is_clear());
    assert_eq!(u.readings, 2);
    // Lower bound: the unplanned agreeing reading counts against.
    let whole = 1.0 + 1.0 + (-0.5f32).exp();
    assert!((u.agreement - 1.0 / whole).abs() < 1e-4, "{}", u.agreement);
}

//! Which speech-to-text engine a voice command uses, from its `--stt` and
//! `--asr` options: the robot's own model (the default, offline) or a
//! Wyoming server on the host (`wyoming://HOST:PORT`). Both come back as a
//! `Box<dyn SpeechToText>`, so `robot listen` never cares which it has.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use robot_models::voice::asr::Recognizer;
use robot_models::voice::wyoming::WyomingClient;
use robot_models::voice::SpeechToText;

/// The `--stt` value of the on-device model.
pub const ON_DEVICE: &str = "on-device";
/// How long a Wyoming server may take to connect, to take each write and to
/// send a transcript: long enough for a CPU Whisper on a few seconds of speech.
pub const WYOMING_TIMEOUT: Duration = Duration::from_secs(30);

/// The engine `stt` names: `None` or `"on-device"` is the model in
/// `asr_dir` (default: the `asr` model folder the runtime finds),
/// `"wyoming://HOST:PORT"` a Wyoming server.
pub fn open_stt(stt: Option<&str>, asr_dir: Option<&Path>) -> anyhow::Result<Box<dyn SpeechToText>> {
    match stt.map(str::trim) {
        None | Some(ON_DEVICE) => {
            let dir = asr_dir.map(Path::to_path_buf).unwrap_or_else(|| robot_runtime::assets::model_dir("asr"));
            let r = Recognizer::load(&dir)
                .with_context(|| format!("cannot load the speech model from {}", dir.display()))?;
            Ok(Box::new(r))
        }
        Some(spec) => match spec.strip_prefix("wyoming://") {
            Some(addr) => {
                let c = WyomingClient::connect(addr, WYOMING_TIMEOUT)
                    .with_context(|| format!("cannot use the Wyoming server {addr}"))?;
                Ok(Box::new(c))
            }
            None => bail!("unknown speech-to-text engine `{spec}`: use `{ON_DEVICE}` or `wyoming://HOST:PORT`"),
        },
    }
}

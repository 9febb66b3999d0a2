//! Sound files for insertion into pushed streams: a WAV in the media directory, encoded once
//! to AAC frames and kept while the file is unchanged.

use super::{resample, wav, AacEncoder, Stereo};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundFileError {
    /// A name with a path in it, or one that leaves the media directory.
    BadName(String),
    NotFound(String),
    BadFormat(String),
}

impl std::fmt::Display for SoundFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoundFileError::BadName(name) => write!(f, "'{name}' is not a file name in the media directory"),
            SoundFileError::NotFound(name) => write!(f, "No such file: {name}"),
            SoundFileError::BadFormat(why) => write!(f, "Unusable sound file: {why}"),
        }
    }
}

/// A sound file as AAC frames (1024 samples each at 48 kHz), shared by every push playing it.
pub type SoundFrames = Arc<Vec<Arc<[u8]>>>;

/// Where the sound file `name` is: a plain file name inside `media_dir`, nothing else.
pub fn sound_file_path(media_dir: &Path, name: &str) -> Result<PathBuf, SoundFileError> {
    if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") || name.starts_with('.') {
        return Err(SoundFileError::BadName(name.to_owned()));
    }
    let canonical_dir = media_dir.canonicalize().map_err(|_| SoundFileError::NotFound(name.to_owned()))?;
    let canonical = media_dir.join(name).canonicalize().map_err(|_| SoundFileError::NotFound(name.to_owned()))?;
    if !canonical.starts_with(&canonical_dir) || !canonical.is_file() {
        return Err(SoundFileError::BadName(name.to_owned()));
    }
    Ok(canonical)
}

/// The AAC frames (with `channels`) of `name` in `media_dir` (blocking: call it off actor threads).
pub fn load_sound_file(media_dir: &Path, name: &str, bitrate: usize, channels: u8) -> Result<SoundFrames, SoundFileError> {
    let canonical = sound_file_path(media_dir, name)?;
    let modified = std::fs::metadata(&canonical).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
    /// Encoded files by path and channel count, kept while the file is unchanged.
    type Cache = Mutex<HashMap<(PathBuf, u8), (SystemTime, SoundFrames)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (canonical.clone(), channels);
    if let Some((when, frames)) = cache.lock().unwrap().get(&key) {
        if *when == modified {
            return Ok(frames.clone());
        }
    }
    let bytes = std::fs::read(&canonical).map_err(|_| SoundFileError::NotFound(name.to_owned()))?;
    let parsed = wav::parse(&bytes).map_err(SoundFileError::BadFormat)?;
    let stereo = resample::to_stereo_48k(&parsed).map_err(|e| SoundFileError::BadFormat(e.0))?;
    let frames = encode_all(&stereo, bitrate, channels).map_err(|e| SoundFileError::BadFormat(e.0))?;
    cache.lock().unwrap().insert(key, (modified, frames.clone()));
    Ok(frames)
}

fn encode_all(stereo: &Stereo, bitrate: usize, channels: u8) -> Result<SoundFrames, super::TranscodeError> {
    let mut encoder = AacEncoder::new(bitrate, channels)?;
    let mut frames: Vec<Arc<[u8]>> = encoder.encode(stereo)?.into_iter().map(|(_, data)| Arc::from(data)).collect();
    // Push the encoder's delay out with silence so the file's end is heard.
    frames.extend(encoder.encode(&Stereo::silence(2048))?.into_iter().map(|(_, data)| Arc::from(data)));
    Ok(Arc::new(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_encodes_and_guards_the_media_directory() {
        let dir = std::env::temp_dir().join(format!("ferrophone-sounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tone: Vec<i16> = (0..8000 * 2).map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16).collect();
        std::fs::write(dir.join("beep.wav"), wav::write(8000, 1, &tone)).unwrap();
        std::fs::write(dir.join("noise.wav"), b"RIFF....WAVEjunk").unwrap();

        let frames = load_sound_file(&dir, "beep.wav", 96_000, 2).unwrap();
        // Two seconds at 48 kHz is 93.75 frames of 1024.
        assert!((93..=97).contains(&frames.len()), "{}", frames.len());
        assert!(Arc::ptr_eq(&frames, &load_sound_file(&dir, "beep.wav", 96_000, 2).unwrap()), "cached");
        assert_eq!(load_sound_file(&dir, "missing.wav", 96_000, 2).unwrap_err(), SoundFileError::NotFound("missing.wav".into()));
        for bad in ["../etc/passwd", "/etc/passwd", "sub/x.wav", ".hidden", ""] {
            assert!(matches!(load_sound_file(&dir, bad, 96_000, 2), Err(SoundFileError::BadName(_))), "{bad}");
        }
        assert!(matches!(load_sound_file(&dir, "noise.wav", 96_000, 2), Err(SoundFileError::BadFormat(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

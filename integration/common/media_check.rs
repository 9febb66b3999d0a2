//! What ffprobe and ffmpeg say about media that arrived somewhere.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The streams of `input` (a file or a live rtmp:// URL) as ffprobe sees them.
pub fn probe_streams(input: &str) -> Vec<Value> {
    let output = Command::new("timeout")
        .args(["20", "ffprobe", "-v", "error", "-show_entries"])
        .arg("stream=codec_type,codec_name,width,height,sample_rate,channels,start_time,duration:format=duration")
        .args(["-of", "json", input])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// First and last packet time (s) of the video and of the audio of a file.
pub fn packet_spans(file: &Path) -> ((f64, f64), (f64, f64)) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "packet=codec_type,pts_time", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    let mut spans = [(f64::MAX, f64::MIN); 2];
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.split(',');
        let (kind, time) = (fields.next().unwrap_or(""), fields.next().and_then(|t| t.parse::<f64>().ok()));
        let (Some(time), Some(slot)) = (time, match kind { "video" => Some(0), "audio" => Some(1), _ => None }) else { continue };
        spans[slot] = (spans[slot].0.min(time), spans[slot].1.max(time));
    }
    (spans[0], spans[1])
}

pub fn format_duration(file: &Path) -> f64 {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0.0)
}

/// Decoding errors of a whole file (empty when it decodes cleanly). The frames keep the file's
/// own time base: at ffmpeg's default (1/frame rate) two frames of a variable-rate stream closer
/// than one frame apart round to one tick and the null muxer reports a timestamp error.
pub fn decode_errors(file: &Path) -> String {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-enc_time_base", "-1", "-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Mean volume in dB of `seconds` of audio from `start`, after `filter` (e.g. a band-pass).
pub fn mean_volume(file: &Path, start: f64, seconds: f64, filter: Option<&str>) -> f64 {
    let filters = match filter {
        Some(f) => format!("{f},volumedetect"),
        None => "volumedetect".into(),
    };
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-ss", &start.to_string(), "-t", &seconds.to_string(), "-i"])
        .arg(file)
        .args(["-vn", "-af", &filters, "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    text.lines()
        .find_map(|l| l.split("mean_volume: ").nth(1))
        .and_then(|v| v.trim_end_matches(" dB").trim().parse().ok())
        .unwrap_or(-200.0)
}

/// The level of a band around `hz` (100 Hz wide).
pub fn band_level(file: &Path, start: f64, seconds: f64, hz: u32) -> f64 {
    mean_volume(file, start, seconds, Some(&format!("bandpass=f={hz}:width_type=h:w=100,bandpass=f={hz}:width_type=h:w=100")))
}

//! Edits to an SDP the server sends.

/// Puts every `a=msid` (and `a=ssrc:<n> msid:`) of a description under one stream id, and says
/// so in `a=msid-semantic`. The WebSDK plays `event.streams[0]` of each track, so audio and
/// video must belong to one MediaStream (spec §7.5).
pub fn unify_msid(sdp: &str, stream_id: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if body.starts_with("a=msid-semantic:") {
            out.push_str(&format!("a=msid-semantic: WMS {stream_id}"));
        } else if let Some(rest) = body.strip_prefix("a=msid:") {
            out.push_str(&format!("a=msid:{stream_id} {}", second_word(rest)));
        } else if let Some((ssrc, rest)) = body.strip_prefix("a=ssrc:").and_then(|r| r.split_once(" msid:")) {
            out.push_str(&format!("a=ssrc:{ssrc} msid:{stream_id} {}", second_word(rest)));
        } else {
            out.push_str(body);
        }
        out.push_str(ending);
    }
    out
}

/// Tells the other side of every Opus payload type that audio wider than `rate` Hz is
/// neither played nor sent here (`maxplaybackrate` and `sprop-maxcapturerate`, RFC 7587 §6.1):
/// a browser then encodes no wider, which costs it fewer bits and us a cheaper decoding.
pub fn limit_opus_audio_rate(sdp: &str, rate: u32) -> String {
    let opus_pts: Vec<&str> = sdp
        .lines()
        .filter_map(|line| line.strip_prefix("a=rtpmap:"))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, codec)| codec.to_ascii_lowercase().starts_with("opus/"))
        .map(|(pt, _)| pt)
        .collect();
    let limits = format!("maxplaybackrate={rate};sprop-maxcapturerate={rate}");
    let mut out = String::with_capacity(sdp.len() + opus_pts.len() * limits.len());
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        match body.strip_prefix("a=fmtp:").and_then(|rest| rest.split_once(' ')) {
            Some((pt, params)) if opus_pts.contains(&pt) => {
                let kept = params.split(';').map(str::trim).filter(|p| {
                    let name = p.split('=').next().unwrap_or_default().to_ascii_lowercase();
                    !p.is_empty() && name != "maxplaybackrate" && name != "sprop-maxcapturerate"
                });
                let params: Vec<&str> = kept.chain(std::iter::once(limits.as_str())).collect();
                out.push_str(&format!("a=fmtp:{pt} {}", params.join(";")));
            }
            _ => out.push_str(body),
        }
        out.push_str(ending);
    }
    out
}

fn second_word(s: &str) -> &str {
    s.split_once(' ').map_or("", |(_, track)| track.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_fmtp_lines_get_the_rate_limit_and_nothing_else_changes() {
        let sdp = "v=0\r\nm=audio 9 X 111 0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;maxplaybackrate=48000;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=fmtp:0 x=1\r\nm=video 9 X 96\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 max-fr=30\r\n";
        assert_eq!(
            limit_opus_audio_rate(sdp, 8000),
            "v=0\r\nm=audio 9 X 111 0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1;maxplaybackrate=8000;sprop-maxcapturerate=8000\r\na=rtpmap:0 PCMU/8000\r\na=fmtp:0 x=1\r\nm=video 9 X 96\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 max-fr=30\r\n"
        );
        assert_eq!(limit_opus_audio_rate("m=audio 9 X 0\na=rtpmap:0 PCMU/8000\n", 8000), "m=audio 9 X 0\na=rtpmap:0 PCMU/8000\n");
    }

    #[test]
    fn one_stream_id_for_every_track() {
        let sdp = "v=0\r\na=msid-semantic: WMS a b\r\nm=audio 9 X 111\r\na=msid:a t1\r\na=ssrc:1 msid:a t1\r\na=ssrc:1 cname:c\r\nm=video 9 X 96\r\na=msid:b t2\r\n";
        let out = unify_msid(sdp, "S");
        assert_eq!(
            out,
            "v=0\r\na=msid-semantic: WMS S\r\nm=audio 9 X 111\r\na=msid:S t1\r\na=ssrc:1 msid:S t1\r\na=ssrc:1 cname:c\r\nm=video 9 X 96\r\na=msid:S t2\r\n"
        );
    }
}

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

fn second_word(s: &str) -> &str {
    s.split_once(' ').map_or("", |(_, track)| track.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

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

use super::*;
use crate::rtp::video_depacketizer::Picture;

const SPS: &[u8] = &[0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02, 0x80];
const PPS: &[u8] = &[0x68, 0xce, 0x06, 0xe2];

fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
    nals.iter().flat_map(|n| START_CODE.iter().chain(n.iter()).copied()).collect()
}

fn slice(nal_header: u8, len: usize, seed: u8) -> Vec<u8> {
    std::iter::once(nal_header).chain((0..len - 1).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)).collect()
}

/// Packetizes `units` as consecutive RTP packets and depacketizes them again, losing the
/// packets whose index is in `lost`.
fn round_trip(units: &[Vec<u8>], lost: &[usize]) -> (Vec<Picture>, bool) {
    let mut depacketizer = H264Depacketizer::new();
    let (mut out, mut wanted) = (Vec::new(), false);
    let mut index = 0;
    for (n, unit) in units.iter().enumerate() {
        let payloads = packetize_h264(unit, MAX_VIDEO_PAYLOAD);
        let count = payloads.len();
        for (i, payload) in payloads.into_iter().enumerate() {
            if !lost.contains(&index) {
                depacketizer.push(1000 + index as u16, 90_000 + 3000 * n as u32, i + 1 == count, &payload, |au| out.push(au));
                wanted |= depacketizer.take_keyframe_wanted();
            }
            index += 1;
        }
    }
    (out, wanted)
}

#[test]
fn small_nals_go_alone_and_large_ones_in_fu_a_fragments() {
    let idr = slice(0x65, 3000, 1);
    let payloads = packetize_h264(&annex_b(&[SPS, PPS, &idr]), MAX_VIDEO_PAYLOAD);
    assert_eq!(payloads.len(), 2 + 3, "SPS, PPS, then 2999 bytes in 1198-byte fragments");
    assert_eq!(payloads[0], SPS);
    assert!(payloads.iter().all(|p| p.len() <= MAX_VIDEO_PAYLOAD));
    let fragments = &payloads[2..];
    assert_eq!(fragments[0][..2], [0x60 | FU_A, 0x80 | 5], "NRI of the IDR, start bit, type 5");
    assert_eq!(fragments[1][1], 5, "neither start nor end");
    assert_eq!(fragments[2][1], 0x40 | 5, "end bit");
    let rebuilt: Vec<u8> = fragments.iter().flat_map(|f| f[2..].to_vec()).collect();
    assert_eq!(rebuilt, idr[1..]);
}

#[test]
fn access_units_come_back_whole_with_their_keyframe_flag() {
    let units = vec![annex_b(&[SPS, PPS, &slice(0x65, 5000, 2)]), annex_b(&[&slice(0x41, 900, 3)]), annex_b(&[&slice(0x41, 2500, 4)])];
    let (out, wanted) = round_trip(&units, &[]);
    assert_eq!(out.iter().map(|au| &au.data).collect::<Vec<_>>(), units.iter().collect::<Vec<_>>());
    assert_eq!(out.iter().map(|au| au.keyframe).collect::<Vec<_>>(), [true, false, false]);
    assert_eq!(out.iter().map(|au| au.timestamp).collect::<Vec<_>>(), [90_000, 93_000, 96_000]);
    assert!(!wanted);
}

#[test]
fn a_loss_drops_pictures_until_the_next_keyframe_and_asks_for_one() {
    let idr = || annex_b(&[SPS, PPS, &slice(0x65, 2500, 5)]);
    let units = vec![idr(), annex_b(&[&slice(0x41, 2500, 6)]), annex_b(&[&slice(0x41, 500, 7)]), idr()];
    // Packet 6 is the middle fragment of the first P-frame (SPS, PPS and 3 IDR fragments come first).
    let (out, wanted) = round_trip(&units, &[6]);
    assert!(wanted, "the receiver is told to ask for a keyframe");
    assert_eq!(out.len(), 2, "the spoiled P-frame and the one after it are dropped");
    assert!(out.iter().all(|au| au.keyframe));
}

#[test]
fn a_lost_marker_is_noticed_by_the_next_timestamp() {
    let mut depacketizer = H264Depacketizer::new();
    let mut out = Vec::new();
    let idr = slice(0x65, 100, 8);
    depacketizer.push(1, 0, false, &idr, |au| out.push(au));
    depacketizer.push(2, 3000, true, &slice(0x41, 100, 9), |au| out.push(au));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].data, annex_b(&[&idr]));
}

#[test]
fn stap_a_and_parameter_sets_sent_apart_join_the_next_picture() {
    let mut depacketizer = H264Depacketizer::new();
    let mut out = Vec::new();
    let mut stap = vec![STAP_A];
    for nal in [SPS, PPS] {
        stap.extend_from_slice(&(nal.len() as u16).to_be_bytes());
        stap.extend_from_slice(nal);
    }
    depacketizer.push(7, 100, true, &stap, |au| out.push(au));
    assert!(out.is_empty(), "SPS and PPS alone are no picture");
    let idr = slice(0x65, 50, 10);
    depacketizer.push(8, 3100, true, &idr, |au| out.push(au));
    assert_eq!(out, [Picture { data: annex_b(&[SPS, PPS, &idr]), timestamp: 3100, keyframe: true }]);
}

#[test]
fn garbage_never_panics_and_is_no_picture() {
    let mut depacketizer = H264Depacketizer::new();
    let mut out = Vec::new();
    for (i, payload) in [&[][..], &[FU_A][..], &[STAP_A, 0, 9, 1][..], &[29, 0x80][..], &[FU_A, 0x05, 1, 2][..]].iter().enumerate() {
        depacketizer.push(i as u16, i as u32, true, payload, |au| out.push(au));
    }
    assert!(out.is_empty());
    assert!(depacketizer.take_keyframe_wanted());
}

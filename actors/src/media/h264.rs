//! H.264 bitstream helpers: Annex B access units (as WebRTC delivers them) split into NAL
//! units, converted to the length-prefixed form of FLV/MP4, the decoder configuration record,
//! and the picture size from the SPS.

pub const NAL_IDR: u8 = 5;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;
pub const NAL_AUD: u8 = 9;

pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// The NAL units of an Annex B buffer (start codes of 3 or 4 bytes).
pub fn nal_units(annex_b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i] == 0 && annex_b[i + 1] == 0 && annex_b[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(annex_b.len(), |next| next - 3);
        // A 4-byte start code leaves one zero at the end of the previous unit.
        while end > start && annex_b[end - 1] == 0 && k + 1 < starts.len() {
            end -= 1;
        }
        if end > start {
            units.push(&annex_b[start..end]);
        }
    }
    units
}

pub fn is_keyframe(annex_b: &[u8]) -> bool {
    nal_units(annex_b).iter().any(|n| nal_type(n) == NAL_IDR)
}

/// The first SPS and PPS of an access unit.
pub fn parameter_sets(annex_b: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let units = nal_units(annex_b);
    let sps = units.iter().find(|n| nal_type(n) == NAL_SPS)?;
    let pps = units.iter().find(|n| nal_type(n) == NAL_PPS)?;
    Some((sps.to_vec(), pps.to_vec()))
}

/// Length-prefixed (4 bytes) NAL units, without access unit delimiters.
pub fn to_length_prefixed(annex_b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(annex_b.len() + 16);
    for nal in nal_units(annex_b).into_iter().filter(|n| nal_type(n) != NAL_AUD) {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1) with one SPS and one PPS and
/// 4-byte NAL lengths.
pub fn decoder_configuration_record(sps: &[u8], pps: &[u8]) -> Option<Vec<u8>> {
    if sps.len() < 4 || pps.is_empty() {
        return None;
    }
    let mut record = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    record.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    record.extend_from_slice(sps);
    record.push(1);
    record.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    record.extend_from_slice(pps);
    Some(record)
}

/// Width and height of the pictures an SPS describes, after cropping.
pub fn sps_resolution(sps: &[u8]) -> Option<(u32, u32)> {
    let rbsp = unescape(sps.get(1..)?);
    let mut r = BitReader { data: &rbsp, bit: 0 };
    let profile_idc = r.bits(8)?;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bits(1)?;
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?;
        }
        1 => {
            r.bits(1)?;
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()? {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = r.ue()? + 1;
    let height_map_units = r.ue()? + 1;
    let frame_mbs_only = r.bits(1)?;
    if frame_mbs_only == 0 {
        r.bits(1)?;
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if r.bits(1)? == 1 {
        left = r.ue()?;
        right = r.ue()?;
        top = r.ue()?;
        bottom = r.ue()?;
    }
    let (crop_x, crop_y) = match chroma_format_idc {
        0 => (1, 2 - frame_mbs_only),
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    let width = (width_mbs * 16).checked_sub(crop_x * (left + right))?;
    let height = ((2 - frame_mbs_only) * height_map_units * 16).checked_sub(crop_y * (top + bottom))?;
    Some((width, height))
}

fn skip_scaling_list(r: &mut BitReader, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// Removes emulation prevention bytes (00 00 03 → 00 00).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

struct BitReader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl BitReader<'_> {
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.bit / 8)?;
            value = (value << 1) | u32::from((byte >> (7 - self.bit % 8)) & 1);
            self.bit += 1;
        }
        Some(value)
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SPS x264 writes for 640x360 High profile (cropped from 640x368).
    const SPS_640X360: [u8; 25] = [
        0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00,
        0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2d,
    ];
    /// Constrained baseline 320x240 (Chrome-like).
    const SPS_320X240: [u8; 10] = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10];

    #[test]
    fn splits_annex_b_with_both_start_code_lengths() {
        let au = [0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4, 5, 6];
        let units = nal_units(&au);
        assert_eq!(units, vec![&[0x09, 0x10][..], &[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5, 6][..]]);
        assert!(is_keyframe(&au));
        assert_eq!(parameter_sets(&au), Some((vec![0x67, 1, 2], vec![0x68, 3])));
        assert_eq!(
            to_length_prefixed(&au),
            vec![0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 4, 0x65, 4, 5, 6]
        );
    }

    #[test]
    fn decoder_configuration_record_layout() {
        let record = decoder_configuration_record(&[0x67, 0x42, 0xe0, 0x1f, 9], &[0x68, 1]).unwrap();
        assert_eq!(record, vec![1, 0x42, 0xe0, 0x1f, 0xff, 0xe1, 0, 5, 0x67, 0x42, 0xe0, 0x1f, 9, 1, 0, 2, 0x68, 1]);
    }

    #[test]
    fn reads_the_picture_size() {
        assert_eq!(sps_resolution(&SPS_640X360), Some((640, 360)));
        assert_eq!(sps_resolution(&SPS_320X240), Some((320, 240)));
        assert_eq!(sps_resolution(&[0x67]), None);
    }
}

//! The sending half of an SRTP context: protects RTP (RFC 3711, RFC 7714) and SRTCP packets
//! with the session keys derived from a DTLS-SRTP master key. Its ciphers are the ones str0m's
//! crypto provider makes; what is here is the key derivation, the IVs and the packet layout.
//! A payload is encrypted straight from the shared bytes into the datagram: no copy before.

use super::srtp_keys::SrtpKeys;
use str0m::config::CryptoProvider;
use str0m::crypto::dtls::SrtpProfile;
use str0m::crypto::{AeadAes128Gcm, AeadAes128GcmCipher, AeadAes256Gcm, AeadAes256GcmCipher, Aes128CmSha1_80, Aes128CmSha1_80Cipher};
use str0m::crypto::{Sha1HmacProvider, SrtpProvider};
use zeroize::Zeroize;

/// RFC 3711 §4.3.2 key derivation labels.
const LABEL_RTP_ENCRYPTION: u8 = 0;
const LABEL_RTP_AUTHENTICATION: u8 = 1;
const LABEL_RTP_SALT: u8 = 2;
const LABEL_RTCP_ENCRYPTION: u8 = 3;
const LABEL_RTCP_AUTHENTICATION: u8 = 4;
const LABEL_RTCP_SALT: u8 = 5;

/// The AES-CM ciphers of str0m's providers write up to a block past the input.
const COUNTER_MODE_SLACK: usize = 16;
const SRTCP_INDEX_LEN: usize = 4;
/// The bit of the SRTCP index word that says the packet is encrypted.
const SRTCP_ENCRYPTED: u32 = 0x8000_0000;

/// The most a protected packet is longer than the plain one (AES-GCM's tag, with the SRTCP index).
const MAX_OVERHEAD: usize = AeadAes128Gcm::TAG_LEN + SRTCP_INDEX_LEN;

enum Protection {
    CounterSha1 { salt: [u8; 14], authentication: [u8; 20], cipher: Box<dyn Aes128CmSha1_80Cipher> },
    Gcm128 { salt: [u8; 12], cipher: Box<dyn AeadAes128GcmCipher> },
    Gcm256 { salt: [u8; 12], cipher: Box<dyn AeadAes256GcmCipher> },
}

impl Drop for Protection {
    // The salts and the authentication key do not outlive the sender in freed memory (the
    // ciphers' own key schedules are the crypto library's to clear).
    fn drop(&mut self) {
        match self {
            Protection::CounterSha1 { salt, authentication, .. } => {
                salt.zeroize();
                authentication.zeroize();
            }
            Protection::Gcm128 { salt, .. } | Protection::Gcm256 { salt, .. } => salt.zeroize(),
        }
    }
}

pub struct SrtpSender {
    rtp: Protection,
    rtcp: Protection,
    /// The next SRTCP index (31 bits).
    srtcp_index: u32,
    hmac: &'static dyn Sha1HmacProvider,
}

impl SrtpSender {
    /// The context for what this side sends: the client's (active) keys or the server's.
    /// `None` for a profile this code does not know.
    pub fn new(provider: &CryptoProvider, keys: &SrtpKeys) -> Option<SrtpSender> {
        let srtp = provider.srtp_provider;
        let (rtp, rtcp) = match keys.profile {
            SrtpProfile::AES128_CM_SHA1_80 => {
                let master = MasterKey::<16, 14>::from_material(&keys.material, keys.active)?;
                let side = |encryption, authentication, salt| {
                    let mut auth = [0; Aes128CmSha1_80::HMAC_KEY_LEN];
                    master.derive(srtp, authentication, &mut auth);
                    Protection::CounterSha1 {
                        salt: master.derived(srtp, salt),
                        authentication: auth,
                        cipher: srtp.aes_128_cm_sha1_80().create_cipher(master.derived(srtp, encryption), true),
                    }
                };
                (side(LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTHENTICATION, LABEL_RTP_SALT), side(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTHENTICATION, LABEL_RTCP_SALT))
            }
            SrtpProfile::AEAD_AES_128_GCM => {
                let master = MasterKey::<16, 12>::from_material(&keys.material, keys.active)?;
                let side = |encryption, salt| Protection::gcm128(srtp, master.derived(srtp, encryption), master.derived(srtp, salt));
                (side(LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT), side(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_SALT))
            }
            SrtpProfile::AEAD_AES_256_GCM => {
                let master = MasterKey::<32, 12>::from_material(&keys.material, keys.active)?;
                let side = |encryption, salt| Protection::Gcm256 {
                    salt: master.derived(srtp, salt),
                    cipher: srtp.aead_aes_256_gcm().create_cipher(master.derived(srtp, encryption), true),
                };
                (side(LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT), side(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_SALT))
            }
            _ => return None,
        };
        Some(SrtpSender { rtp, rtcp, srtcp_index: 0, hmac: provider.sha1_hmac_provider })
    }

    /// Writes the protected packet of `header` and `payload` to `out` (cleared first).
    /// `index` is the packet's 48-bit SRTP index: the rollover counter, then the sequence number.
    pub fn protect_rtp(&mut self, header: &[u8], payload: &[u8], index: u64, out: &mut Vec<u8>) {
        let ssrc = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
        let plain_len = header.len() + payload.len();
        out.clear();
        out.extend_from_slice(header);
        match &mut self.rtp {
            Protection::CounterSha1 { salt, authentication, cipher } => {
                out.resize(plain_len + COUNTER_MODE_SLACK, 0);
                let iv = Aes128CmSha1_80::rtp_iv(*salt, ssrc, index);
                cipher.encrypt(&iv, payload, &mut out[header.len()..]).expect("AES-CM encrypts any length");
                out.truncate(plain_len);
                // The tag covers the packet and then the rollover counter (RFC 3711 §4.2).
                let roc = ((index >> 16) as u32).to_be_bytes();
                let tag = self.hmac.sha1_hmac(authentication, &[out, &roc]);
                out.extend_from_slice(&tag[..Aes128CmSha1_80::HMAC_TAG_LEN]);
            }
            Protection::Gcm128 { salt, cipher } => {
                out.resize(plain_len + AeadAes128Gcm::TAG_LEN, 0);
                let iv = AeadAes128Gcm::rtp_iv(*salt, ssrc, (index >> 16) as u32, index as u16);
                cipher.encrypt(&iv, header, payload, &mut out[header.len()..]).expect("AES-GCM encrypts any length");
            }
            Protection::Gcm256 { salt, cipher } => {
                out.resize(plain_len + AeadAes256Gcm::TAG_LEN, 0);
                let iv = AeadAes256Gcm::rtp_iv(*salt, ssrc, (index >> 16) as u32, index as u16);
                cipher.encrypt(&iv, header, payload, &mut out[header.len()..]).expect("AES-GCM encrypts any length");
            }
        }
    }

    /// The protected form of a (compound) RTCP packet, encrypted, with the next SRTCP index.
    pub fn protect_rtcp(&mut self, plain: &[u8]) -> Vec<u8> {
        let index = self.srtcp_index;
        self.srtcp_index = (index + 1) & !SRTCP_ENCRYPTED;
        let index_word = (SRTCP_ENCRYPTED | index).to_be_bytes();
        let ssrc = u32::from_be_bytes([plain[4], plain[5], plain[6], plain[7]]);
        // The first 8 bytes (header and sender SSRC) stay clear.
        let (clear, body) = plain.split_at(8);
        let mut out = Vec::with_capacity(plain.len() + MAX_OVERHEAD + COUNTER_MODE_SLACK);
        out.extend_from_slice(clear);
        match &mut self.rtcp {
            Protection::CounterSha1 { salt, authentication, cipher } => {
                out.resize(plain.len() + COUNTER_MODE_SLACK, 0);
                let iv = Aes128CmSha1_80::rtp_iv(*salt, ssrc, u64::from(index));
                cipher.encrypt(&iv, body, &mut out[8..]).expect("AES-CM encrypts any length");
                out.truncate(plain.len());
                out.extend_from_slice(&index_word);
                let tag = self.hmac.sha1_hmac(authentication, &[&out]);
                out.extend_from_slice(&tag[..Aes128CmSha1_80::HMAC_TAG_LEN]);
            }
            Protection::Gcm128 { salt, cipher } => {
                let iv = AeadAes128Gcm::rtcp_iv(*salt, ssrc, index);
                seal_rtcp(&mut out, plain, &index_word, |aad, body, sealed| cipher.encrypt(&iv, aad, body, sealed).is_ok());
            }
            Protection::Gcm256 { salt, cipher } => {
                let iv = AeadAes256Gcm::rtcp_iv(*salt, ssrc, index);
                seal_rtcp(&mut out, plain, &index_word, |aad, body, sealed| cipher.encrypt(&iv, aad, body, sealed).is_ok());
            }
        }
        out
    }
}

/// AES-GCM SRTCP (RFC 7714 §9): the clear 8 bytes and the index word are the associated data;
/// the sealed body with its tag follows the clear bytes, and the index word ends the packet.
fn seal_rtcp(out: &mut Vec<u8>, plain: &[u8], index_word: &[u8; 4], seal: impl FnOnce(&[u8], &[u8], &mut [u8]) -> bool) {
    let mut aad = [0; 12];
    aad[..8].copy_from_slice(&plain[..8]);
    aad[8..].copy_from_slice(index_word);
    out.resize(plain.len() + AeadAes128Gcm::TAG_LEN, 0);
    assert!(seal(&aad, &plain[8..], &mut out[8..]), "AES-GCM encrypts any length");
    out.extend_from_slice(index_word);
}

impl Protection {
    fn gcm128(srtp: &dyn SrtpProvider, key: [u8; 16], salt: [u8; 12]) -> Protection {
        Protection::Gcm128 { salt, cipher: srtp.aead_aes_128_gcm().create_cipher(key, true) }
    }
}

/// One side's master key and salt, from which the session keys are derived.
struct MasterKey<const KEY: usize, const SALT: usize> {
    key: [u8; KEY],
    salt: [u8; SALT],
}

impl<const KEY: usize, const SALT: usize> Drop for MasterKey<KEY, SALT> {
    fn drop(&mut self) {
        self.key.zeroize();
        self.salt.zeroize();
    }
}

impl<const KEY: usize, const SALT: usize> MasterKey<KEY, SALT> {
    /// The material is the client's key, the server's key, the client's salt, the server's salt.
    fn from_material(material: &[u8], client: bool) -> Option<Self> {
        if material.len() != 2 * (KEY + SALT) {
            return None;
        }
        let (key_at, salt_at) = if client { (0, 2 * KEY) } else { (KEY, 2 * KEY + SALT) };
        Some(MasterKey { key: material[key_at..key_at + KEY].try_into().ok()?, salt: material[salt_at..salt_at + SALT].try_into().ok()? })
    }

    fn derived<const N: usize>(&self, srtp: &dyn SrtpProvider, label: u8) -> [u8; N] {
        let mut out = [0; N];
        self.derive(srtp, label, &mut out);
        out
    }

    /// RFC 3711 §4.3.3 with a key derivation rate of zero: AES in counter mode under the master
    /// key, from the master salt with the label XORed into its eighth byte. A 12-byte salt (AES-GCM,
    /// RFC 7714 §11) takes the same place, its last two bytes zero.
    fn derive(&self, srtp: &dyn SrtpProvider, label: u8, out: &mut [u8]) {
        let mut block = [0u8; 16];
        block[..SALT].copy_from_slice(&self.salt);
        block[7] ^= label;
        let mut keystream = [0u8; 32];
        for (counter, chunk) in out.chunks_mut(16).enumerate() {
            block[14..].copy_from_slice(&(counter as u16).to_be_bytes());
            match KEY {
                16 => srtp.srtp_aes_128_ecb_round(&self.key, &block, &mut keystream),
                _ => srtp.srtp_aes_256_ecb_round(&self.key, &block, &mut keystream),
            }
            chunk.copy_from_slice(&keystream[..chunk.len()]);
        }
    }
}

#[cfg(test)]
impl SrtpSender {
    /// An AES-128-GCM context from session keys, as RFC 7714's test vectors give them.
    fn gcm128_from_session_keys(key: [u8; 16], salt: [u8; 12], srtcp_index: u32) -> SrtpSender {
        let provider = super::srtp_keys::default_provider();
        let srtp = provider.srtp_provider;
        SrtpSender { rtp: Protection::gcm128(srtp, key, salt), rtcp: Protection::gcm128(srtp, key, salt), srtcp_index, hmac: provider.sha1_hmac_provider }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webrtc::srtp_keys::default_provider;

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
    }

    #[test]
    fn session_keys_are_derived_as_in_rfc_3711() {
        // RFC 3711 Appendix B.3.
        let master = MasterKey::<16, 14> {
            key: hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
            salt: hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
        };
        let srtp = default_provider().srtp_provider;
        assert_eq!(master.derived::<16>(srtp, LABEL_RTP_ENCRYPTION).to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        assert_eq!(master.derived::<14>(srtp, LABEL_RTP_SALT).to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        assert_eq!(master.derived::<20>(srtp, LABEL_RTP_AUTHENTICATION).to_vec(), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    }

    // RFC 7714 §16 (AES-128-GCM) test vectors.
    const KEY: &str = "000102030405060708090a0b0c0d0e0f";
    const SALT: &str = "517569642070726f2071756f";

    #[test]
    fn rtp_is_protected_as_in_rfc_7714() {
        let mut sender = SrtpSender::gcm128_from_session_keys(hex(KEY).try_into().unwrap(), hex(SALT).try_into().unwrap(), 0);
        let plain = hex("8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573");
        let mut out = Vec::new();
        sender.protect_rtp(&plain[..12], &plain[12..], 0xf17b, &mut out);
        let expected = hex(
            "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn rtcp_is_protected_as_in_rfc_7714() {
        let mut sender = SrtpSender::gcm128_from_session_keys(hex(KEY).try_into().unwrap(), hex(SALT).try_into().unwrap(), 0x05d4);
        let plain = hex("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef");
        let expected = hex(
            "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4",
        );
        assert_eq!(sender.protect_rtcp(&plain), expected);
        assert_eq!(sender.srtcp_index, 0x05d5, "the index counts packets");
    }

    #[test]
    fn aes_counter_mode_with_sha1_protects_as_libsrtp_does() {
        // libsrtp's reference packet for its default policy (srtp_validate), whose master key and
        // salt are RFC 3711 B.3's, here as the client's half of the DTLS material.
        let (key, salt) = (hex("E1F97A0D3E018BE0D64FA32C06DE4139"), hex("0EC675AD498AFEEBB6960B3AABE6"));
        let material = [key, vec![0; 16], salt, vec![0; 14]].concat();
        let keys = SrtpKeys { profile: SrtpProfile::AES128_CM_SHA1_80, material, active: true };
        let mut sender = SrtpSender::new(default_provider(), &keys).unwrap();
        let mut out = Vec::new();
        sender.protect_rtp(&hex("800f1234 decafbad cafebabe"), &[0xab; 16], 0x1234, &mut out);
        assert_eq!(out, hex("800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb"));
    }

    #[test]
    fn master_keys_are_taken_from_the_senders_half_of_the_material() {
        // client key, server key, client salt, server salt.
        let material: Vec<u8> = [[1u8; 16], [2; 16]].concat().into_iter().chain([3u8; 12]).chain([4u8; 12]).collect();
        let server = MasterKey::<16, 12>::from_material(&material, false).unwrap();
        assert_eq!((server.key, server.salt), ([2; 16], [4; 12]));
        let client = MasterKey::<16, 12>::from_material(&material, true).unwrap();
        assert_eq!((client.key, client.salt), ([1; 16], [3; 12]));
        assert!(MasterKey::<32, 12>::from_material(&material, false).is_none(), "the wrong length for the profile");
    }
}

//! The SRTP master keys DTLS agrees for one peer. str0m keeps them inside its `Rtc`; a player,
//! which protects the packets it forwards itself (`player_sender`), needs them too. An `Rtc`
//! built by [`build_reporting_keys`] has a DTLS provider that wraps str0m's own and copies the
//! keying material its handshake exports into the [`KeysSlot`] it was built with. str0m's
//! provider interface gives DTLS providers as `&'static`, so the slot reaches the instance
//! through a thread-local set around `build` (which creates the DTLS instance), not a field.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::crypto::dtls::{DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion, SrtpProfile};
use str0m::crypto::CryptoError;
use str0m::{Rtc, RtcConfig};
use zeroize::Zeroize;

/// What DTLS-SRTP exported (RFC 5764 §4.2): both sides' master keys and salts, and who the
/// client (`active`) was, which says which half protects what this side sends.
#[derive(Clone)]
pub struct SrtpKeys {
    pub profile: SrtpProfile,
    pub material: Vec<u8>,
    pub active: bool,
}

impl Drop for SrtpKeys {
    // The key bytes do not outlive the peer in freed memory.
    fn drop(&mut self) {
        self.material.zeroize();
    }
}

impl std::fmt::Debug for SrtpKeys {
    // Never the key bytes, in logs or panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpKeys").field("profile", &self.profile).field("active", &self.active).finish_non_exhaustive()
    }
}

/// Where one peer's keys land once its handshake is done.
#[derive(Clone, Default, Debug)]
pub struct KeysSlot(Arc<OnceLock<SrtpKeys>>);

impl KeysSlot {
    pub fn get(&self) -> Option<&SrtpKeys> {
        self.0.get()
    }
}

thread_local! {
    /// The slot for the DTLS instance the `build` running on this thread creates.
    static SLOT_FOR_NEXT_INSTANCE: RefCell<Option<KeysSlot>> = const { RefCell::new(None) };
}

/// The provider str0m would use, whose parts the reporting provider delegates to.
static DEFAULT: LazyLock<CryptoProvider> = LazyLock::new(str0m::crypto::from_feature_flags);

static REPORTING: LazyLock<Arc<CryptoProvider>> =
    LazyLock::new(|| Arc::new(CryptoProvider { dtls_provider: &ReportingDtls, ..DEFAULT.clone() }));

/// The crypto provider str0m uses by default, for code that protects packets itself.
pub fn default_provider() -> &'static CryptoProvider {
    &DEFAULT
}

/// Builds `config` into an `Rtc` whose DTLS handshake reports its SRTP keys to the slot returned.
pub fn build_reporting_keys(config: RtcConfig, now: Instant) -> (Rtc, KeysSlot) {
    let slot = KeysSlot::default();
    SLOT_FOR_NEXT_INSTANCE.set(Some(slot.clone()));
    let rtc = config.set_crypto_provider(REPORTING.clone()).build(now);
    // Taken by the instance; cleared here in case a future str0m made it lazily.
    SLOT_FOR_NEXT_INSTANCE.set(None);
    (rtc, slot)
}

#[derive(Debug)]
struct ReportingDtls;

impl DtlsProvider for ReportingDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        DEFAULT.dtls_provider.generate_certificate()
    }

    fn new_dtls(&self, cert: &DtlsCert, now: Instant, version: DtlsVersion, mtu: Option<usize>) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let inner = DEFAULT.dtls_provider.new_dtls(cert, now, version, mtu)?;
        Ok(match SLOT_FOR_NEXT_INSTANCE.take() {
            Some(slot) => Box::new(ReportingInstance { inner, slot }),
            None => inner,
        })
    }
}

#[derive(Debug)]
struct ReportingInstance {
    inner: Box<dyn DtlsInstance>,
    slot: KeysSlot,
}

impl DtlsInstance for ReportingInstance {
    fn set_active(&mut self, active: bool) {
        self.inner.set_active(active)
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.inner.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let output = self.inner.poll_output(buf);
        if let DtlsOutput::KeyingMaterial(material, profile) = &output {
            let keys = SrtpKeys { profile: *profile, material: material.to_vec(), active: self.inner.is_active() };
            // A renegotiation would bring new keys; str0m does not renegotiate, so the first stay.
            let _ = self.slot.0.set(keys);
        }
        output
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.inner.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.inner.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.inner.close()
    }
}

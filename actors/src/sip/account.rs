//! One SIP account of a WebSDK session (spec §2.1, §4.5 `registered`): REGISTER with digest
//! authentication (the login in From, To and Contact, the authentication name only in the
//! Authorization header), refreshed before it expires, removed when the session ends. The
//! login's incoming calls go to the session from the start, registered or not.

use super::gateway::{IncomingInvite, SipGateway};
use crate::websdk::SipCredentials;
use actix::prelude::*;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::registration::{backoff_interval, refresh_interval, Registration};
use rsipstack::sip::{StatusCodeKind, Uri};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the session hears from its account.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum AccountEvent {
    Registered { expires: u32 },
    /// Registration failed; `info` is the registrar's status line or what went wrong.
    RegistrationFailed { info: String },
}

pub struct SipAccount {
    id: u64,
    credentials: SipCredentials,
    gateway: Arc<SipGateway>,
    owner: Recipient<AccountEvent>,
    incoming: Recipient<IncomingInvite>,
    /// Out while a REGISTER is in flight.
    registration: Option<Registration>,
    registered: bool,
    failures: u32,
}

impl SipAccount {
    pub fn new(credentials: SipCredentials, gateway: Arc<SipGateway>, owner: Recipient<AccountEvent>, incoming: Recipient<IncomingInvite>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let credential = credential_of(&credentials);
        let mut registration = Registration::new(gateway.endpoint.clone(), Some(credential));
        registration.contact = Some(rsipstack::sip::typed::Contact { display_name: None, uri: gateway.contact(&credentials.login), params: vec![] });
        SipAccount {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            credentials,
            gateway,
            owner,
            incoming,
            registration: Some(registration),
            registered: false,
            failures: 0,
        }
    }

    /// The registrar: `sip:<domain>`, reached through the outbound proxy and port.
    fn registrar(&self) -> Result<Uri, String> {
        let domain = if self.credentials.domain.is_empty() { &self.credentials.outbound_proxy } else { &self.credentials.domain };
        Uri::try_from(format!("sip:{domain}").as_str()).map_err(|e| format!("bad SIP domain '{domain}': {e}"))
    }

    fn register(&mut self, expires: u32, ctx: &mut Context<Self>) {
        let Some(mut registration) = self.registration.take() else { return };
        let registrar = match self.registrar() {
            Ok(uri) => uri,
            Err(info) => {
                self.registration = Some(registration);
                let _ = self.owner.try_send(AccountEvent::RegistrationFailed { info });
                return;
            }
        };
        let proxy = (self.credentials.outbound_proxy.clone(), self.credentials.port);
        let attempt = async move {
            let outcome = match tokio::net::lookup_host(proxy.clone()).await.map(|mut a| a.next()) {
                Ok(Some(address)) => {
                    registration.outbound_proxy = Some(address);
                    match registration.register(registrar, Some(expires)).await {
                        Ok(response) if response.status_code.kind() == StatusCodeKind::Successful => Ok(registration.expires()),
                        Ok(response) => Err(response.status_code.to_string()),
                        Err(e) => Err(format!("registrar unreachable: {e}")),
                    }
                }
                _ => Err(format!("cannot resolve the SIP outbound proxy '{}'", proxy.0)),
            };
            (registration, outcome)
        };
        ctx.spawn(attempt.into_actor(self).map(move |(registration, outcome), act, ctx| {
            act.registration = Some(registration);
            act.registered(expires, outcome, ctx);
        }));
    }

    fn registered(&mut self, asked: u32, outcome: Result<u32, String>, ctx: &mut Context<Self>) {
        match outcome {
            Ok(granted) => {
                tracing::info!(login = %self.credentials.login, expires = granted, "SIP account registered");
                self.failures = 0;
                if !self.registered {
                    self.registered = true;
                    let _ = self.owner.try_send(AccountEvent::Registered { expires: granted });
                }
                ctx.run_later(refresh_interval(granted), move |act, ctx| act.register(asked, ctx));
            }
            Err(info) => {
                tracing::warn!(login = %self.credentials.login, %info, "SIP registration failed");
                if self.registered || self.failures == 0 {
                    let _ = self.owner.try_send(AccountEvent::RegistrationFailed { info });
                }
                self.registered = false;
                self.failures += 1;
                ctx.run_later(backoff_interval(self.failures).max(Duration::from_secs(5)), move |act, ctx| act.register(asked, ctx));
            }
        }
    }
}

/// The login names the account; the authentication name, when it differs, is only the digest
/// user (seed 000).
fn credential_of(credentials: &SipCredentials) -> Credential {
    Credential {
        username: credentials.login.clone(),
        password: credentials.password.clone(),
        realm: None,
        auth_username: (credentials.authentication_name != credentials.login).then(|| credentials.authentication_name.clone()),
    }
}

impl Actor for SipAccount {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.gateway.add_account(&self.credentials.login, self.id, self.incoming.clone());
        if self.credentials.register_required {
            self.register(self.gateway.settings.register_expires, ctx);
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.gateway.remove_account(&self.credentials.login, self.id);
        // Sessions with the same login share one Contact: the last one out unregisters it.
        if self.gateway.has_account(&self.credentials.login) {
            return;
        }
        // Unregister on the way out; nobody waits for the answer.
        if let (true, Some(mut registration), Ok(registrar)) = (self.registered, self.registration.take(), self.registrar()) {
            actix::spawn(async move {
                let _ = registration.register(registrar, Some(0)).await;
            });
        }
    }
}

/// The session is done with its account.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAccount;

impl Handler<CloseAccount> for SipAccount {
    type Result = ();
    fn handle(&mut self, _: CloseAccount, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authentication_name_only_goes_into_the_digest() {
        let mut credentials = SipCredentials {
            login: "1001".into(),
            authentication_name: "alice".into(),
            password: "secret".into(),
            domain: "example.com".into(),
            outbound_proxy: "example.com".into(),
            port: 5060,
            register_required: true,
        };
        let credential = credential_of(&credentials);
        assert_eq!((credential.username.as_str(), credential.digest_username()), ("1001", "alice"));
        credentials.authentication_name = "1001".into();
        assert_eq!(credential_of(&credentials).auth_username, None);
    }
}

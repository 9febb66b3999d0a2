//! The server's one SIP endpoint (rsipstack, UDP and TCP on the SIP port): it sends what
//! accounts and calls ask, answers what nobody owns, and hands a new INVITE to the session
//! whose account it names.

use super::rtp_ports::RtpPorts;
use super::settings::SipSettings;
use actix::prelude::*;
use rsipstack::dialog::dialog::DialogStateReceiver;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::{Transaction, TransactionReceiver};
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::EndpointBuilder;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// A new call for an account: the dialog (its INVITE transaction already driven by the
/// gateway) and the dialog's state changes.
#[derive(Message)]
#[rtype(result = "()")]
pub struct IncomingInvite {
    pub login: String,
    pub dialog: InviteDialog,
    pub states: DialogStateReceiver,
}

/// An account's id and the session that takes its calls.
type AccountOwner = (u64, Recipient<IncomingInvite>);

pub struct SipGateway {
    pub endpoint: EndpointInnerRef,
    pub dialogs: Arc<DialogLayer>,
    pub settings: SipSettings,
    /// Where the endpoint listens, its real port (the configured one may be 0).
    pub local: SocketAddr,
    pub rtp_ports: RtpPorts,
    /// Accounts by SIP login: who takes that login's calls, newest last.
    accounts: Mutex<HashMap<String, Vec<AccountOwner>>>,
    cancel: CancellationToken,
}

impl SipGateway {
    /// Binds UDP and TCP on the SIP port and starts serving on the current runtime.
    pub async fn start(settings: SipSettings) -> Result<Arc<Self>, String> {
        let cancel = CancellationToken::new();
        let transports = TransportLayer::new(cancel.clone());
        let bind = SocketAddr::new(settings.bind, settings.port);
        let external = |port| (settings.advertised_ip != settings.bind).then(|| SocketAddr::new(settings.advertised_ip, port));
        let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|e| format!("SIP UDP on {bind}: {e}"))?;
        let port = udp.get_addr().get_socketaddr().map_err(|e| e.to_string())?.port();
        let udp = match external(port) {
            // Bound again with the address to advertise, now that the port is known.
            Some(advertised) => {
                drop(udp);
                UdpConnection::create_connection(SocketAddr::new(settings.bind, port), Some(advertised), Some(cancel.child_token()))
                    .await
                    .map_err(|e| format!("SIP UDP on port {port}: {e}"))?
            }
            None => udp,
        };
        let local = SocketAddr::new(settings.bind, port);
        let tcp = TcpListenerConnection::new(local, external(port)).await.map_err(|e| format!("SIP TCP on {local}: {e}"))?;
        transports.add_transport(udp.into());
        transports.add_transport(tcp.into());
        let endpoint = EndpointBuilder::new()
            .with_transport_layer(transports)
            .with_cancel_token(cancel.clone())
            .with_user_agent(concat!("ferrophone/", env!("CARGO_PKG_VERSION")))
            .with_allows(vec![Method::Invite, Method::Ack, Method::Cancel, Method::Bye, Method::Options, Method::Info, Method::Refer, Method::Notify])
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| e.to_string())?;
        let inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let rtp_ports = RtpPorts::new(settings.rtp_ports.clone());
        let gateway = Arc::new(SipGateway { endpoint: inner.clone(), dialogs, settings, local, rtp_ports, accounts: Default::default(), cancel });
        actix::spawn(async move {
            if let Err(e) = inner.serve().await {
                tracing::error!(error = %e, "SIP endpoint stopped");
            }
        });
        let serving = gateway.clone();
        actix::spawn(async move { serving.serve_incoming(incoming).await });
        tracing::info!(%local, "SIP listening on UDP and TCP");
        Ok(gateway)
    }

    /// The address to advertise with our port: Contact, Via and SDP take it.
    pub fn advertised(&self) -> SocketAddr {
        SocketAddr::new(self.settings.advertised_ip, self.local.port())
    }

    /// Our Contact for `user`.
    pub fn contact(&self, user: &str) -> rsipstack::sip::Uri {
        let text = format!("sip:{user}@{}", self.advertised());
        rsipstack::sip::Uri::try_from(text.as_str()).unwrap_or_default()
    }

    /// `login`'s calls go to `owner` (the session of account `id`) from now on.
    pub fn add_account(&self, login: &str, id: u64, owner: Recipient<IncomingInvite>) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.entry(login.to_owned()).or_default().push((id, owner));
    }

    pub fn remove_account(&self, login: &str, id: u64) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(owners) = accounts.get_mut(login) {
            owners.retain(|(i, _)| *i != id);
            if owners.is_empty() {
                accounts.remove(login);
            }
        }
    }

    pub fn has_account(&self, login: &str) -> bool {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).contains_key(login)
    }

    fn owner_of(&self, login: &str) -> Option<Recipient<IncomingInvite>> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.get(login).and_then(|owners| owners.iter().rev().find(|(_, o)| o.connected()).map(|(_, o)| o.clone()))
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    async fn serve_incoming(self: Arc<Self>, mut incoming: TransactionReceiver) {
        while let Some(mut tx) = incoming.recv().await {
            if let Some(mut dialog) = self.dialogs.match_dialog(&tx) {
                // In-dialog requests (BYE, re-INVITE, INFO, REFER, NOTIFY, ACK, CANCEL): the
                // dialog answers and its owner hears of it through the dialog's states.
                actix::spawn(async move {
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!(error = %e, "in-dialog request");
                    }
                });
                continue;
            }
            let gateway = self.clone();
            actix::spawn(async move { gateway.out_of_dialog(tx).await });
        }
    }

    async fn out_of_dialog(&self, mut tx: Transaction) {
        let status = match tx.original.method {
            Method::Invite if has_to_tag(&tx) => StatusCode::CallTransactionDoesNotExist,
            Method::Invite => match self.offer_call(&tx) {
                Ok(mut dialog) => {
                    // The INVITE transaction lives on here: answers, ACK and CANCEL.
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!(error = %e, "incoming INVITE transaction");
                    }
                    return;
                }
                Err(status) => status,
            },
            Method::Options => StatusCode::OK,
            Method::Ack => return,
            Method::Bye | Method::Cancel | Method::Info | Method::Refer | Method::Notify | Method::Update => {
                StatusCode::CallTransactionDoesNotExist
            }
            _ => StatusCode::MethodNotAllowed,
        };
        if let Err(e) = tx.reply(status).await {
            tracing::debug!(error = %e, "cannot answer an out-of-dialog request");
        }
    }

    /// A new INVITE goes to the session whose account is the Request-URI's user.
    fn offer_call(&self, tx: &Transaction) -> Result<InviteDialog, StatusCode> {
        let login = tx.original.uri.auth.as_ref().map(|a| a.user.clone()).unwrap_or_default();
        let owner = self.owner_of(&login).ok_or(StatusCode::NotFound)?;
        let (states_in, states) = self.dialogs.new_dialog_state_channel();
        let dialog = self
            .dialogs
            .get_or_create_server_invite(tx, states_in, None, Some(self.contact(&login)))
            .map_err(|_| StatusCode::ServerInternalError)?;
        if owner.try_send(IncomingInvite { login, dialog: dialog.clone(), states }).is_err() {
            self.dialogs.remove_dialog(&dialog.id());
            return Err(StatusCode::TemporarilyUnavailable);
        }
        Ok(dialog)
    }
}

fn has_to_tag(tx: &Transaction) -> bool {
    tx.original.to_header().ok().and_then(|to| to.tag().ok().flatten()).is_some()
}

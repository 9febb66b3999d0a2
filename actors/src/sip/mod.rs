//! The SIP side of the gateway: one rsipstack endpoint for the server, a registering account
//! per WebSDK session that has SIP fields, and an actor per call bridging its browser (WebRTC)
//! and its phone (RTP). rsipstack stays behind this module.

pub mod account;
pub mod address;
pub mod call_leg;
pub mod call_outcome;
pub mod call_record;
pub mod gateway;
pub mod rest_calls;
pub mod rtp_ports;
pub mod settings;
pub mod sip_dialog;
pub mod video_leg;

pub use gateway::{IncomingInvite, SipGateway};
pub use settings::SipSettings;

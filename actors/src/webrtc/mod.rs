//! WebRTC with str0m: choosing codecs from browser offers, building the server's `Rtc` and
//! its answer, and routing datagrams of the shared media port. Free of actix.

pub mod codec_choice;
pub mod keyframe;
pub mod peer_setup;
pub mod player_sender;
pub mod srtp_keys;
pub mod srtp_sender;
pub mod stun_username;

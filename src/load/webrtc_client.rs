//! A client WebRTC peer on str0m, as a browser would be: it offers, takes the server's answer,
//! runs full ICE as the controlling side against the server's ICE-lite, and then sends or
//! receives media. Load viewers can switch to counting RTP packets after the first keyframe,
//! and read the packets of a frame in one go (UDP GRO), so a viewer costs the load machine less
//! than it costs the server.

use super::gro_receive;
use super::rtp_counter::RtpCounter;
use super::simulated_loss::SimulatedLoss;
use super::synthetic_media::VideoCodec;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use std::pin::Pin;
use tokio::net::UdpSocket;
use tokio::time::Sleep;

/// A client's UDP socket on `ip`, reading runs of datagrams where the kernel can.
async fn bind(ip: IpAddr) -> Result<(UdpSocket, SocketAddr), String> {
    let udp = UdpSocket::bind((ip, 0)).await.map_err(|e| format!("udp bind: {e}"))?;
    gro_receive::enable_gro(&udp);
    let local = udp.local_addr().map_err(|e| e.to_string())?;
    Ok((udp, local))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Publish,
    Play,
    /// The browser side of a SIP call: audio both ways.
    Call,
}

pub struct ClientPeer {
    rtc: Rtc,
    udp: UdpSocket,
    local: SocketAddr,
    next_timeout: Instant,
    /// The timer `next_event` waits on, kept between calls and moved only when its time
    /// changes: a load viewer reads about a hundred runs a second, and a new timer for each
    /// would be entered into and taken out of tokio's timer wheel every time.
    timer: Pin<Box<Sleep>>,
    events: VecDeque<Event>,
    pending: Option<SdpPendingOffer>,
    pub audio: Option<Mid>,
    pub video: Option<Mid>,
    counting_only: bool,
    pub counter: RtpCounter,
    /// Video lost on the way in, when set.
    pub loss: Option<SimulatedLoss>,
    /// Where runs of datagrams are read into: made once, not for every `next_event`, which
    /// callers start anew on every turn of their loops.
    receive_buffer: Vec<u8>,
}

/// The Opus a client sends: mono like a browser's microphone, or stereo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpusChannels {
    Mono,
    Stereo,
}

impl ClientPeer {
    /// A peer on `ip` and its SDP offer. A player offers every codec it knows, like a browser;
    /// `video` restricts it (or a publisher) to one video codec.
    pub async fn offer(role: Role, audio: Option<OpusChannels>, video: Option<VideoCodec>, ip: IpAddr) -> Result<(ClientPeer, String), String> {
        let mut config = Rtc::builder().clear_codecs();
        if let Some(channels) = audio {
            // Stereo is declared (RFC 7587 §6.1), as a browser asked for stereo does; without it
            // a server may take the audio as mono.
            let stereo = (channels == OpusChannels::Stereo).then_some(true);
            let params = FormatParams { min_p_time: Some(10), use_inband_fec: Some(true), stereo, sprop_stereo: stereo, ..Default::default() };
            config.codec_config().add_config(Pt::from(111), None, Codec::Opus, Frequency::FORTY_EIGHT_KHZ, Some(2), params);
        }
        config = match (role, video) {
            (_, Some(VideoCodec::H264)) => config.enable_h264(true),
            (_, Some(VideoCodec::Vp8)) => config.enable_vp8(true),
            (Role::Play, None) => config.enable_vp8(true).enable_h264(true),
            (Role::Publish | Role::Call, None) => config,
        };
        let now = Instant::now();
        let mut rtc = config.build(now);
        let (udp, local) = bind(ip).await?;
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        let direction = match role {
            Role::Publish => Direction::SendOnly,
            Role::Play => Direction::RecvOnly,
            Role::Call => Direction::SendRecv,
        };
        let mut change = rtc.sdp_api();
        let stream_id = Some("load".to_owned());
        let audio_mid = audio.map(|_| change.add_media(MediaKind::Audio, direction, stream_id.clone(), None, None));
        let wants_video = role == Role::Play || video.is_some();
        let video_mid = wants_video.then(|| change.add_media(MediaKind::Video, direction, stream_id, None, None));
        let (offer, pending) = change.apply().ok_or("nothing to offer")?;
        let peer = ClientPeer {
            rtc,
            udp,
            local,
            next_timeout: now,
            timer: Box::pin(tokio::time::sleep_until(now.into())),
            events: VecDeque::new(),
            pending: Some(pending),
            audio: audio_mid,
            video: video_mid,
            counting_only: false,
            receive_buffer: vec![0; gro_receive::RUN_BUFFER_BYTES],
            counter: RtpCounter::default(),
            loss: None,
        };
        Ok((peer, offer.to_sdp_string()))
    }

    /// A peer on `ip` that answers the server's offer (an incoming call, or a stream a server
    /// offers to play), and its answer: Opus, and one of `videos` when the server offers it.
    pub async fn answer(offer: &str, videos: &[VideoCodec], ip: IpAddr) -> Result<(ClientPeer, String), String> {
        let params = FormatParams { min_p_time: Some(10), use_inband_fec: Some(true), ..Default::default() };
        let mut config = Rtc::builder()
            .clear_codecs()
            .enable_h264(videos.contains(&VideoCodec::H264))
            .enable_vp8(videos.contains(&VideoCodec::Vp8));
        config.codec_config().add_config(Pt::from(111), None, Codec::Opus, Frequency::FORTY_EIGHT_KHZ, Some(2), params);
        let now = Instant::now();
        let mut rtc = config.build(now);
        let (udp, local) = bind(ip).await?;
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        let sections = ferrophone_actors::sdp::SessionDescription::parse(offer).map_err(|e| e.to_string())?.media;
        let mid_of = |kind: &str| sections.iter().find(|m| m.kind == kind).and_then(|m| m.mid().map(Mid::from));
        let (audio, video) = (mid_of("audio"), mid_of("video"));
        let offer = str0m::change::SdpOffer::from_sdp_string(offer).map_err(|e| format!("offer: {e}"))?;
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| format!("offer: {e}"))?;
        let peer = ClientPeer {
            rtc,
            udp,
            local,
            next_timeout: now,
            timer: Box::pin(tokio::time::sleep_until(now.into())),
            events: VecDeque::new(),
            pending: None,
            audio,
            video,
            counting_only: false,
            receive_buffer: vec![0; gro_receive::RUN_BUFFER_BYTES],
            counter: RtpCounter::default(),
            loss: None,
        };
        Ok((peer, answer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, answer: &str) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| format!("answer: {e}"))?;
        let pending = self.pending.take().ok_or("no offer pending")?;
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| format!("answer: {e}"))
    }

    /// Runs ICE and DTLS until the media is connected, or fails after `within`.
    pub async fn until_connected(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_event(deadline).await? {
                Some(Event::Connected) => return Ok(()),
                Some(_) => continue,
                None => return Err(format!("media did not connect in {} s", within.as_secs())),
            }
        }
    }

    /// From now on RTP is only counted, not decrypted (STUN, DTLS and RTCP still are handled).
    pub fn count_only(&mut self) {
        self.counting_only = true;
    }

    /// Writes one frame on the track `mid` with its first payload type.
    pub fn write(&mut self, mid: Mid, time: u64, clock_rate: u32, data: Vec<u8>) -> Result<(), String> {
        let writer = self.rtc.writer(mid).ok_or("no such track")?;
        let pt: Pt = writer.payload_params().next().map(|p| p.pt()).ok_or("no codec")?;
        let clock = Frequency::new(clock_rate).ok_or("zero clock rate")?;
        writer.write(pt, Instant::now(), MediaTime::new(time, clock), data).map_err(|e| e.to_string())?;
        self.drain()
    }

    /// Asks the sender of the video this peer receives for a keyframe (a PLI), as a browser
    /// does when it cannot decode.
    pub fn request_keyframe(&mut self) -> Result<(), String> {
        let mid = self.video.ok_or("no video track")?;
        let mut writer = self.rtc.writer(mid).ok_or("no such track")?;
        writer.request_keyframe(None, KeyframeRequestKind::Pli).map_err(|e| e.to_string())?;
        self.drain()
    }

    /// Moves to a new UDP socket, as a NAT rebinding or a change of network would: the server
    /// sees this peer from a new address, while str0m here still believes in the old one.
    pub async fn rebind(&mut self) -> Result<SocketAddr, String> {
        let (udp, address) = bind(self.local.ip()).await?;
        self.udp = udp;
        Ok(address)
    }

    /// The next event of the peer, running I/O and timers until it comes or `deadline` passes.
    pub async fn next_event(&mut self, deadline: Instant) -> Result<Option<Event>, String> {
        loop {
            self.drain()?;
            if let Some(event) = self.events.pop_front() {
                return Ok(Some(event));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let wake = tokio::time::Instant::from(self.next_timeout.min(deadline));
            if self.timer.deadline() != wake {
                self.timer.as_mut().reset(wake);
            }
            tokio::select! {
                received = gro_receive::receive(&self.udp, &mut self.receive_buffer) => {
                    let run = received.map_err(|e| format!("udp: {e}"))?;
                    let buffer = std::mem::take(&mut self.receive_buffer);
                    let received = run.datagrams(&buffer).try_for_each(|datagram| self.receive(datagram, run.source));
                    self.receive_buffer = buffer;
                    received?;
                }
                _ = &mut self.timer => {
                    self.rtc.handle_input(Input::Timeout(Instant::now())).map_err(|e| e.to_string())?;
                }
            }
        }
    }

    /// One datagram from `source`.
    fn receive(&mut self, data: &[u8], source: SocketAddr) -> Result<(), String> {
        if self.loss.as_mut().is_some_and(|loss| loss.drops(data)) {
            return Ok(());
        }
        let rtp = self.counter.count(data);
        if rtp && self.counting_only {
            return Ok(());
        }
        let Ok(contents) = data.try_into() else { return Ok(()) };
        let input = Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: self.local, contents });
        self.rtc.handle_input(input).map_err(|e| e.to_string())?;
        // A run holds several datagrams: str0m's output is taken after each, as it expects.
        self.drain()
    }

    fn drain(&mut self) -> Result<(), String> {
        loop {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Transmit(t) => {
                    let _ = self.udp.try_send_to(&t.contents, t.destination);
                }
                Output::Timeout(at) => {
                    self.next_timeout = at;
                    return Ok(());
                }
                Output::Event(event) => self.events.push_back(event),
            }
        }
    }
}

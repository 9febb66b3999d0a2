//! The publishing side of an RTMP session, sans-IO: handshake, `connect`, `releaseStream`,
//! `FCPublish`, `createStream`, `publish` (as encoders such as FMLE and ffmpeg send them), then
//! audio and video messages, and `FCUnpublish`/`deleteStream` at the end. Bytes in, bytes and
//! events out; the caller owns the TCP connection.

use super::adobe_auth;
use rml_rtmp::chunk_io::{ChunkDeserializer, ChunkSerializer};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::messages::{MessagePayload, RtmpMessage};
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;
use std::collections::HashMap;

const CHUNK_SIZE: u32 = 4096;
const FLASH_VERSION: &str = "FMLE/3.0 (compatible; ferrophone)";
const CONNECT_TX: f64 = 1.0;
const CREATE_STREAM_TX: f64 = 4.0;

/// Which step of Adobe authentication a connection is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStage {
    /// A plain connect; credentials are offered only if the server asks.
    Plain,
    /// `?authmod=adobe&user=U`, to get a challenge.
    Announce,
    /// The answer to the challenge.
    Respond(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    pub app: String,
    pub tc_url: String,
    pub stream_name: String,
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherEvent {
    /// The server accepted the publish: media may be sent.
    Publishing,
    /// The server wants authentication: open a new connection at this stage.
    Reconnect(AuthStage),
    /// The server refused (connect or publish), with its reason.
    Refused(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Connecting,
    CreatingStream,
    PublishRequested,
    Publishing,
    Done,
}

pub struct RtmpPublisher {
    request: PublishRequest,
    auth: AuthStage,
    state: State,
    handshake: Handshake,
    serializer: ChunkSerializer,
    deserializer: ChunkDeserializer,
    stream_id: u32,
}

/// What one call gives back: bytes to write, and what happened.
#[derive(Debug, Default)]
pub struct Step {
    pub send: Vec<u8>,
    pub events: Vec<PublisherEvent>,
}

impl RtmpPublisher {
    /// A new session and the first bytes to send (C0 and C1).
    pub fn new(request: PublishRequest, auth: AuthStage) -> Result<(Self, Vec<u8>), String> {
        let mut handshake = Handshake::new(PeerType::Client);
        let c0c1 = handshake.generate_outbound_p0_and_p1().map_err(|e| format!("handshake: {e:?}"))?;
        let publisher = RtmpPublisher {
            request,
            auth,
            state: State::Handshaking,
            handshake,
            serializer: ChunkSerializer::new(),
            deserializer: ChunkDeserializer::new(),
            stream_id: 0,
        };
        Ok((publisher, c0c1))
    }

    pub fn is_publishing(&self) -> bool {
        self.state == State::Publishing
    }

    /// Feeds bytes read from the server.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<Step, String> {
        let mut step = Step::default();
        let mut input = bytes.to_vec();
        if self.state == State::Handshaking {
            match self.handshake.process_bytes(&input).map_err(|e| format!("handshake: {e:?}"))? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    step.send.extend(response_bytes);
                    return Ok(step);
                }
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    step.send.extend(response_bytes);
                    self.start(&mut step)?;
                    input = remaining_bytes;
                }
            }
        }
        let mut next: &[u8] = &input;
        loop {
            let message = self.deserializer.get_next_message(next).map_err(|e| format!("RTMP chunks: {e:?}"))?;
            next = &[];
            let Some(payload) = message else { break };
            let message = payload.to_rtmp_message().map_err(|e| format!("RTMP message: {e:?}"))?;
            self.on_message(message, &mut step)?;
        }
        Ok(step)
    }

    /// After the handshake: a bigger chunk size, then `connect`.
    fn start(&mut self, step: &mut Step) -> Result<(), String> {
        step.send.extend(self.encode(RtmpMessage::SetChunkSize { size: CHUNK_SIZE }, 0, 0)?);
        self.serializer.set_max_chunk_size(CHUNK_SIZE, RtmpTimestamp::new(0)).map_err(|e| format!("{e:?}"))?;
        let app = match &self.auth {
            AuthStage::Plain => self.request.app.clone(),
            AuthStage::Announce => with_query(&self.request.app, &adobe_auth::first_query(&self.user())),
            AuthStage::Respond(query) => with_query(&self.request.app, query),
        };
        let tc_url = match &self.auth {
            AuthStage::Plain => self.request.tc_url.clone(),
            _ => format!("{}{}", self.request.tc_url.split('?').next().unwrap_or_default(), &app[app.find('?').unwrap_or(app.len())..]),
        };
        let mut properties = HashMap::new();
        properties.insert("app".to_owned(), Amf0Value::Utf8String(app));
        properties.insert("type".to_owned(), Amf0Value::Utf8String("nonprivate".into()));
        properties.insert("flashVer".to_owned(), Amf0Value::Utf8String(FLASH_VERSION.into()));
        properties.insert("tcUrl".to_owned(), Amf0Value::Utf8String(tc_url));
        step.send.extend(self.command("connect", CONNECT_TX, Amf0Value::Object(properties), vec![], 0)?);
        self.state = State::Connecting;
        Ok(())
    }

    fn user(&self) -> String {
        self.request.credentials.as_ref().map(|(u, _)| u.clone()).unwrap_or_default()
    }

    fn on_message(&mut self, message: RtmpMessage, step: &mut Step) -> Result<(), String> {
        match message {
            RtmpMessage::SetChunkSize { size } => {
                self.deserializer.set_max_chunk_size(size as usize).map_err(|e| format!("{e:?}"))?;
            }
            RtmpMessage::Amf0Command { command_name, transaction_id, command_object, additional_arguments } => {
                self.on_command(&command_name, transaction_id, command_object, additional_arguments, step)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_command(
        &mut self,
        name: &str,
        transaction_id: f64,
        object: Amf0Value,
        arguments: Vec<Amf0Value>,
        step: &mut Step,
    ) -> Result<(), String> {
        let info = status_info(object, arguments.clone());
        match (name, self.state) {
            ("_result", State::Connecting) if transaction_id == CONNECT_TX => {
                let name = Amf0Value::Utf8String(self.request.stream_name.clone());
                step.send.extend(self.command("releaseStream", 2.0, Amf0Value::Null, vec![name.clone()], 0)?);
                step.send.extend(self.command("FCPublish", 3.0, Amf0Value::Null, vec![name], 0)?);
                step.send.extend(self.command("createStream", CREATE_STREAM_TX, Amf0Value::Null, vec![], 0)?);
                self.state = State::CreatingStream;
            }
            ("_error", State::Connecting) => {
                let description = info.get("description").cloned().unwrap_or_default();
                step.events.push(self.after_refused_connect(&description));
                self.state = State::Done;
            }
            ("_result", State::CreatingStream) if transaction_id == CREATE_STREAM_TX => {
                let id = arguments.into_iter().find_map(|v| match v {
                    Amf0Value::Number(n) => Some(n as u32),
                    _ => None,
                });
                self.stream_id = id.ok_or("createStream answered without a stream id")?;
                let arguments = vec![
                    Amf0Value::Utf8String(self.request.stream_name.clone()),
                    Amf0Value::Utf8String("live".into()),
                ];
                step.send.extend(self.command("publish", 5.0, Amf0Value::Null, arguments, self.stream_id)?);
                self.state = State::PublishRequested;
            }
            ("_error", State::CreatingStream) => {
                step.events.push(PublisherEvent::Refused(format!("createStream refused: {}", describe(&info))));
                self.state = State::Done;
            }
            ("onStatus", State::PublishRequested) => match info.get("code").map(String::as_str) {
                Some("NetStream.Publish.Start") => {
                    self.state = State::Publishing;
                    step.events.push(PublisherEvent::Publishing);
                }
                _ if info.get("level").map(String::as_str) == Some("error") => {
                    step.events.push(PublisherEvent::Refused(format!("publish refused: {}", describe(&info))));
                    self.state = State::Done;
                }
                _ => {}
            },
            ("onStatus", State::Publishing) if info.get("level").map(String::as_str) == Some("error") => {
                step.events.push(PublisherEvent::Refused(format!("publishing stopped by the server: {}", describe(&info))));
                self.state = State::Done;
            }
            _ => {}
        }
        Ok(())
    }

    fn after_refused_connect(&self, description: &str) -> PublisherEvent {
        let Some((user, password)) = &self.request.credentials else {
            return PublisherEvent::Refused(format!("connect refused: {description}"));
        };
        match (&self.auth, adobe_auth::parse_challenge(description)) {
            (AuthStage::Plain | AuthStage::Announce, Some(challenge)) => {
                let client_challenge = format!("{:08x}", rand::random::<u32>());
                PublisherEvent::Reconnect(AuthStage::Respond(adobe_auth::response_query(user, password, &challenge, &client_challenge)))
            }
            (AuthStage::Plain, None) if description.contains("authmod=adobe") => PublisherEvent::Reconnect(AuthStage::Announce),
            (AuthStage::Respond(_), _) => PublisherEvent::Refused("authentication failed: wrong user or password".into()),
            _ => PublisherEvent::Refused(format!("connect refused: {description}")),
        }
    }

    /// One FLV video tag body at `timestamp_ms`.
    pub fn video(&mut self, timestamp_ms: u32, body: Vec<u8>, droppable: bool) -> Result<Vec<u8>, String> {
        self.media(RtmpMessage::VideoData { data: body.into() }, timestamp_ms, droppable)
    }

    /// One FLV audio tag body at `timestamp_ms`.
    pub fn audio(&mut self, timestamp_ms: u32, body: Vec<u8>, droppable: bool) -> Result<Vec<u8>, String> {
        self.media(RtmpMessage::AudioData { data: body.into() }, timestamp_ms, droppable)
    }

    /// `@setDataFrame onMetaData` with what is known of the stream.
    pub fn metadata(&mut self, properties: Vec<(&str, Amf0Value)>) -> Result<Vec<u8>, String> {
        let object = properties.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let values = vec![
            Amf0Value::Utf8String("@setDataFrame".into()),
            Amf0Value::Utf8String("onMetaData".into()),
            Amf0Value::Object(object),
        ];
        self.media(RtmpMessage::Amf0Data { values }, 0, false)
    }

    fn media(&mut self, message: RtmpMessage, timestamp_ms: u32, droppable: bool) -> Result<Vec<u8>, String> {
        if self.state != State::Publishing {
            return Err("not publishing".into());
        }
        let payload = message.into_message_payload(RtmpTimestamp::new(timestamp_ms), self.stream_id).map_err(|e| format!("{e:?}"))?;
        self.serialize(&payload, droppable)
    }

    /// `FCUnpublish` and `deleteStream`: the polite end of a publish.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.state != State::Publishing {
            self.state = State::Done;
            return Vec::new();
        }
        self.state = State::Done;
        let name = Amf0Value::Utf8String(self.request.stream_name.clone());
        let mut bytes = self.command("FCUnpublish", 6.0, Amf0Value::Null, vec![name], 0).unwrap_or_default();
        let stream = Amf0Value::Number(f64::from(self.stream_id));
        bytes.extend(self.command("deleteStream", 0.0, Amf0Value::Null, vec![stream], 0).unwrap_or_default());
        bytes
    }

    fn command(&mut self, name: &str, transaction_id: f64, object: Amf0Value, arguments: Vec<Amf0Value>, stream_id: u32) -> Result<Vec<u8>, String> {
        let message = RtmpMessage::Amf0Command {
            command_name: name.to_owned(),
            transaction_id,
            command_object: object,
            additional_arguments: arguments,
        };
        self.encode(message, 0, stream_id)
    }

    fn encode(&mut self, message: RtmpMessage, timestamp: u32, stream_id: u32) -> Result<Vec<u8>, String> {
        let payload = message.into_message_payload(RtmpTimestamp::new(timestamp), stream_id).map_err(|e| format!("{e:?}"))?;
        self.serialize(&payload, false)
    }

    fn serialize(&mut self, payload: &MessagePayload, droppable: bool) -> Result<Vec<u8>, String> {
        Ok(self.serializer.serialize(payload, false, droppable).map_err(|e| format!("{e:?}"))?.bytes)
    }
}

fn with_query(app: &str, query: &str) -> String {
    let separator = if app.contains('?') { '&' } else { '?' };
    format!("{app}{separator}{query}")
}

/// The string fields of a status object, wherever the server put it.
fn status_info(object: Amf0Value, arguments: Vec<Amf0Value>) -> HashMap<String, String> {
    std::iter::once(object)
        .chain(arguments)
        .filter_map(|v| match v {
            Amf0Value::Object(fields) => Some(fields),
            _ => None,
        })
        .flatten()
        .filter_map(|(k, v)| match v {
            Amf0Value::Utf8String(s) => Some((k, s)),
            _ => None,
        })
        .collect()
}

fn describe(info: &HashMap<String, String>) -> String {
    match (info.get("code"), info.get("description")) {
        (Some(code), Some(description)) => format!("{code} ({description})"),
        (Some(code), None) => code.clone(),
        (None, Some(description)) => description.clone(),
        (None, None) => "no reason given".into(),
    }
}

#[cfg(test)]
mod tests;

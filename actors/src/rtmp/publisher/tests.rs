//! The publisher against rml_rtmp's server session, in memory.

use super::*;
use rml_rtmp::sessions::{ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult};

/// A server that answers connects with `decide(app)`: None accepts, Some(description) refuses.
struct Server {
    handshake: Handshake,
    session: Option<ServerSession>,
    decide: fn(&str) -> Option<String>,
    apps: Vec<String>,
    commands: Vec<String>,
    published: Vec<(String, String)>,
    media: Vec<(bool, u32, Vec<u8>)>,
    finished: bool,
}

impl Server {
    fn new(decide: fn(&str) -> Option<String>) -> Self {
        Server {
            handshake: Handshake::new(PeerType::Server),
            session: None,
            decide,
            apps: vec![],
            commands: vec![],
            published: vec![],
            media: vec![],
            finished: false,
        }
    }

    /// Takes client bytes, returns server bytes.
    fn input(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = bytes.to_vec();
        if self.session.is_none() {
            match self.handshake.process_bytes(&rest).unwrap() {
                HandshakeProcessResult::InProgress { response_bytes } => return response_bytes,
                HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                    out.extend(response_bytes);
                    let (session, results) = ServerSession::new(ServerSessionConfig::new()).unwrap();
                    self.session = Some(session);
                    self.results(results, &mut out);
                    rest = remaining_bytes;
                }
            }
        }
        let results = self.session.as_mut().unwrap().handle_input(&rest).unwrap();
        self.results(results, &mut out);
        out
    }

    fn results(&mut self, results: Vec<ServerSessionResult>, out: &mut Vec<u8>) {
        for result in results {
            match result {
                ServerSessionResult::OutboundResponse(packet) => out.extend(packet.bytes),
                ServerSessionResult::RaisedEvent(event) => {
                    let more = self.event(event);
                    self.results(more, out);
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }

    fn event(&mut self, event: ServerSessionEvent) -> Vec<ServerSessionResult> {
        let session = self.session.as_mut().unwrap();
        match event {
            ServerSessionEvent::ConnectionRequested { request_id, app_name } => {
                self.apps.push(app_name.clone());
                match (self.decide)(&app_name) {
                    None => session.accept_request(request_id).unwrap(),
                    Some(description) => session.reject_request(request_id, "NetConnection.Connect.Rejected", &description).unwrap(),
                }
            }
            ServerSessionEvent::ReleaseStreamRequested { stream_key, .. } => {
                self.commands.push(format!("releaseStream {stream_key}"));
                vec![]
            }
            ServerSessionEvent::PublishStreamRequested { request_id, app_name, stream_key, .. } => {
                self.published.push((app_name, stream_key));
                session.accept_request(request_id).unwrap()
            }
            ServerSessionEvent::UnhandleableAmf0Command { command_name, additional_values, .. } => {
                let arg = match additional_values.first() {
                    Some(Amf0Value::Utf8String(s)) => s.clone(),
                    _ => String::new(),
                };
                self.commands.push(format!("{command_name} {arg}"));
                vec![]
            }
            ServerSessionEvent::VideoDataReceived { data, timestamp, .. } => {
                self.media.push((true, timestamp.value, data.to_vec()));
                vec![]
            }
            ServerSessionEvent::AudioDataReceived { data, timestamp, .. } => {
                self.media.push((false, timestamp.value, data.to_vec()));
                vec![]
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.finished = true;
                vec![]
            }
            _ => vec![],
        }
    }
}

fn request(credentials: Option<(&str, &str)>) -> PublishRequest {
    PublishRequest {
        app: "live".into(),
        tc_url: "rtmp://127.0.0.1:1935/live".into(),
        stream_name: "rtmp_cam".into(),
        credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
    }
}

/// Runs one connection until it is quiet; returns the publisher's events.
fn run(publisher: &mut RtmpPublisher, server: &mut Server, first: Vec<u8>) -> Vec<PublisherEvent> {
    let mut to_server = first;
    let mut events = Vec::new();
    for _ in 0..20 {
        if to_server.is_empty() {
            break;
        }
        let to_client = server.input(&to_server);
        let step = publisher.handle_input(&to_client).unwrap();
        to_server = step.send;
        events.extend(step.events);
    }
    events
}

#[test]
fn publishes_like_an_encoder_and_sends_media() {
    let mut server = Server::new(|_| None);
    let (mut publisher, c0c1) = RtmpPublisher::new(request(None), AuthStage::Plain).unwrap();
    let events = run(&mut publisher, &mut server, c0c1);
    assert_eq!(events, vec![PublisherEvent::Publishing]);
    assert_eq!(server.apps, ["live"]);
    assert_eq!(server.commands, ["releaseStream rtmp_cam", "FCPublish rtmp_cam"]);
    assert_eq!(server.published, [("live".to_owned(), "rtmp_cam".to_owned())]);

    let mut bytes = publisher.video(0, vec![0x17, 0, 0, 0, 0, 1, 2, 3], false).unwrap();
    bytes.extend(publisher.audio(21, vec![0xaf, 1, 9, 9], true).unwrap());
    bytes.extend(publisher.video(33, [vec![0x27, 1, 0, 0, 0], vec![4; 5995]].concat(), true).unwrap());
    server.input(&bytes);
    assert_eq!(server.media.len(), 3);
    assert_eq!((server.media[0].0, server.media[0].1, &server.media[0].2[..]), (true, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3][..]));
    assert_eq!((server.media[1].0, server.media[1].1), (false, 21));
    assert_eq!((server.media[2].1, server.media[2].2.len()), (33, 6000), "a message bigger than a chunk arrives whole");

    let bye = publisher.finish();
    server.input(&bye);
    assert!(server.commands.iter().any(|c| c == "FCUnpublish rtmp_cam"), "{:?}", server.commands);
    assert!(server.finished, "deleteStream ends the publish");
}

#[test]
fn a_refused_connect_is_reported() {
    let mut server = Server::new(|_| Some("Application not found".into()));
    let (mut publisher, c0c1) = RtmpPublisher::new(request(None), AuthStage::Plain).unwrap();
    let events = run(&mut publisher, &mut server, c0c1);
    assert_eq!(events, vec![PublisherEvent::Refused("connect refused: Application not found".into())]);
    assert!(publisher.video(0, vec![1], false).is_err());
}

/// A Wowza-style server: refuses plain connects, challenges `authmod=adobe&user=`, and checks
/// the response against the password "s3cret".
fn adobe(app: &str) -> Option<String> {
    const SALT: &str = "c2FsdA==";
    const OPAQUE: &str = "b3BhcXVl";
    let query = app.split_once('?').map(|(_, q)| q).unwrap_or("");
    let field = |k: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{k}=")[..]).map(str::to_owned));
    if !query.contains("authmod=adobe") {
        return Some("[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ".into());
    }
    match (field("challenge"), field("response")) {
        (Some(challenge), Some(response)) => {
            let user = field("user").unwrap_or_default();
            if adobe_auth::verify(&user, "s3cret", SALT, OPAQUE, &challenge, &response) {
                None
            } else {
                Some("[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=authfailed&opaque=b3BhcXVl".into())
            }
        }
        _ => Some(format!(
            "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ?reason=needauth&user=alice&salt={SALT}&challenge=Y2g=&opaque={OPAQUE}"
        )),
    }
}

#[test]
fn adobe_authentication_takes_three_connections() {
    let mut stage = AuthStage::Plain;
    for connection in 1..=3 {
        let mut server = Server::new(adobe);
        let (mut publisher, c0c1) = RtmpPublisher::new(request(Some(("alice", "s3cret"))), stage.clone()).unwrap();
        let events = run(&mut publisher, &mut server, c0c1);
        match (connection, events.as_slice()) {
            (1, [PublisherEvent::Reconnect(next @ AuthStage::Announce)]) => stage = next.clone(),
            (2, [PublisherEvent::Reconnect(next @ AuthStage::Respond(query))]) => {
                assert!(!query.contains("s3cret"), "the password is never sent");
                stage = next.clone();
            }
            (3, [PublisherEvent::Publishing]) => {
                assert!(server.apps[0].starts_with("live?authmod=adobe&user=alice&challenge="), "{:?}", server.apps);
                return;
            }
            other => panic!("unexpected at connection {connection}: {other:?}"),
        }
    }
}

#[test]
fn a_wrong_password_ends_in_a_refusal() {
    let mut server = Server::new(adobe);
    let challenge = adobe("live?authmod=adobe&user=alice").unwrap();
    let challenge = adobe_auth::parse_challenge(&challenge).unwrap();
    let query = adobe_auth::response_query("alice", "wrong", &challenge, "00000001");
    let (mut publisher, c0c1) = RtmpPublisher::new(request(Some(("alice", "wrong"))), AuthStage::Respond(query)).unwrap();
    let events = run(&mut publisher, &mut server, c0c1);
    assert_eq!(events, vec![PublisherEvent::Refused("authentication failed: wrong user or password".into())]);
}

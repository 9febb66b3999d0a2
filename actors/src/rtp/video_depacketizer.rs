//! Pictures put back together from the RTP packets of a SIP phone's video, whatever the
//! codec: packets in sequence are joined by their payload format until the marker bit (or a
//! new timestamp, when the marker was lost). A lost packet spoils its picture and every one
//! after it until the next keyframe, which the receiver is told to ask for.

/// How one codec's RTP payloads carry a picture (RFC 6184 for H.264, RFC 7741 for VP8).
pub trait PayloadFormat: Default {
    /// Appends what one packet carries to `picture` (`first`: the first packet of this
    /// timestamp). False when the packet cannot be read: the picture is lost.
    fn read(&mut self, payload: &[u8], first: bool, picture: &mut Vec<u8>) -> bool;
    /// The picture once its last packet is in. `broken`: it lost a packet (the format forgets
    /// what it held of it).
    fn finish(&mut self, picture: Vec<u8>, broken: bool) -> Assembled;
}

pub enum Assembled {
    /// A picture, and whether a decoder can start from it.
    Picture(Vec<u8>, bool),
    /// No picture yet: kept to go with the next one (H.264 parameter sets sent alone).
    Held,
    /// Broken or unreadable.
    Lost,
}

/// A whole picture from the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// As the codec's decoders take it: Annex B for H.264, the frame for VP8.
    pub data: Vec<u8>,
    pub timestamp: u32,
    pub keyframe: bool,
}

#[derive(Debug)]
pub struct VideoDepacketizer<F: PayloadFormat> {
    format: F,
    /// The picture being assembled and its RTP timestamp.
    current: Vec<u8>,
    timestamp: Option<u32>,
    /// The current picture lost a packet or had one that could not be read.
    spoiled: bool,
    /// Nothing decodes until a keyframe: after a loss, and at the start.
    waiting_for_keyframe: bool,
    last_sequence: Option<u16>,
    keyframe_wanted: bool,
}

impl<F: PayloadFormat> Default for VideoDepacketizer<F> {
    fn default() -> Self {
        VideoDepacketizer {
            format: F::default(),
            current: Vec::new(),
            timestamp: None,
            spoiled: false,
            waiting_for_keyframe: true,
            last_sequence: None,
            keyframe_wanted: false,
        }
    }
}

impl<F: PayloadFormat> VideoDepacketizer<F> {
    pub fn new() -> Self {
        Self::default()
    }

    /// One packet; `complete` gets each picture it finishes (the previous one, when a new
    /// timestamp shows that its marker was lost, and this one, when it carries the marker).
    pub fn push(&mut self, sequence: u16, timestamp: u32, marker: bool, payload: &[u8], mut complete: impl FnMut(Picture)) {
        if let Some(last) = self.last_sequence {
            let gap = sequence.wrapping_sub(last);
            if gap == 0 || gap > 0x8000 {
                return; // a duplicate or a late packet: its picture is gone already
            }
            if gap != 1 {
                self.lose();
            }
        }
        self.last_sequence = Some(sequence);
        if self.timestamp.is_some_and(|t| t != timestamp) {
            self.finish(&mut complete);
        }
        let first = self.timestamp.is_none();
        self.timestamp = Some(timestamp);
        if !self.format.read(payload, first, &mut self.current) {
            self.lose();
        }
        if marker {
            self.finish(&mut complete);
        }
    }

    /// True once after the stream broke (or started without a keyframe): time to send a PLI.
    pub fn take_keyframe_wanted(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_wanted)
    }

    /// The picture being assembled is lost, and with it those up to the next keyframe.
    fn lose(&mut self) {
        self.spoiled = true;
        self.wait_for_keyframe();
    }

    fn wait_for_keyframe(&mut self) {
        self.waiting_for_keyframe = true;
        self.keyframe_wanted = true;
    }

    fn finish(&mut self, complete: &mut impl FnMut(Picture)) {
        let data = std::mem::take(&mut self.current);
        let timestamp = self.timestamp.take().unwrap_or_default();
        let spoiled = std::mem::take(&mut self.spoiled);
        if data.is_empty() && !spoiled {
            return;
        }
        let (data, keyframe) = match self.format.finish(data, spoiled) {
            Assembled::Picture(data, keyframe) => (data, keyframe),
            Assembled::Held => return,
            Assembled::Lost => return self.wait_for_keyframe(),
        };
        if self.waiting_for_keyframe && !keyframe {
            self.keyframe_wanted = true;
            return;
        }
        self.waiting_for_keyframe = false;
        complete(Picture { data, timestamp, keyframe });
    }
}

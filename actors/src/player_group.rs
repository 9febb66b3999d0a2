//! The players of one stream on one media thread, fed by a single channel from the stream.
//!
//! A frame then wakes one task per media thread, which hands it to each player's sender in
//! turn, instead of waking every player's actor through a channel of its own: with thousands
//! of viewers that wake-up was a fifth of the server's work. The stream sees the group as one
//! sink and applies its drop policy to it (`stream::JoinGroup`); each player still holds back
//! video until its own first keyframe (`PlayerSender::send_frame`).

use crate::media::MediaFrame;
use crate::media_socket::MediaSocket;
use crate::panic_guard::guarded;
use crate::webrtc::player_sender::PlayerSender;
use actix::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Frames a group may be behind before its players lose them (~1 s of audio and video): the
/// group's task only protects and queues datagrams, so it falls behind only when the whole
/// thread does.
pub const GROUP_QUEUE: usize = 96;

/// Datagrams a group gathers before it hands them to the kernel (in `sendmmsg` calls of up to
/// 64): enough for few system calls, few enough that a frame for a thousand players is not all
/// held in memory at once before any of it leaves.
const SEND_EVERY: usize = 256;

/// A player's sender, shared by its peer (which makes it once connected, and resends, reports
/// and redirects through it) and the group (which sends the stream's frames through it).
pub type SenderSlot = Rc<RefCell<Option<Box<PlayerSender>>>>;

/// What the group tells a player's peer.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum GroupNews {
    /// The stream ended: its publisher is gone.
    StreamEnded,
    /// Sending a frame to this player panicked; it gets no more frames.
    SendPanicked(String),
}

/// One player of a group.
pub struct Member {
    /// The player's subscription to the stream, which names it here too.
    pub subscription: u64,
    pub sender: SenderSlot,
    pub news: Recipient<GroupNews>,
}

struct Group {
    id: u64,
    /// Weak: only the stream's sender keeps the channel open, so the group's task learns the
    /// stream ended when its channel closes.
    frames: mpsc::WeakSender<MediaFrame>,
    members: Rc<RefCell<Vec<Member>>>,
}

thread_local! {
    /// This thread's groups by the stream they take frames from.
    static GROUPS: RefCell<HashMap<u64, Group>> = RefCell::new(HashMap::new());
}

/// Which group a player joined, and the sender the stream must hold to feed it (the stream keeps
/// one per group and drops the others).
pub struct Joined {
    pub group: u64,
    pub frames: mpsc::Sender<MediaFrame>,
}

/// Adds `member` to this thread's group for the stream `stream_key`, starting the group (and its
/// task on this thread's `LocalSet`) when there is none.
pub fn join(stream_key: u64, socket: &Arc<MediaSocket>, member: Member) -> Joined {
    GROUPS.with_borrow_mut(|groups| {
        if let Some(group) = groups.get(&stream_key) {
            if let Some(frames) = group.frames.upgrade() {
                group.members.borrow_mut().push(member);
                return Joined { group: group.id, frames };
            }
        }
        static NEXT_GROUP: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_GROUP.fetch_add(1, Ordering::Relaxed);
        let (frames, receiver) = mpsc::channel(GROUP_QUEUE);
        let members = Rc::new(RefCell::new(vec![member]));
        tokio::task::spawn_local(run(stream_key, id, receiver, members.clone(), socket.clone()));
        groups.insert(stream_key, Group { id, frames: frames.downgrade(), members });
        Joined { group: id, frames }
    })
}

/// Takes the player of `subscription` out of group `group` of the stream `stream_key`.
pub fn leave(stream_key: u64, group: u64, subscription: u64) {
    GROUPS.with_borrow(|groups| {
        if let Some(found) = groups.get(&stream_key).filter(|found| found.id == group) {
            found.members.borrow_mut().retain(|member| member.subscription != subscription);
        }
    });
}

/// The group's task: every frame to every member, sent as it goes.
async fn run(
    stream_key: u64,
    id: u64,
    mut frames: mpsc::Receiver<MediaFrame>,
    members: Rc<RefCell<Vec<Member>>>,
    socket: Arc<MediaSocket>,
) {
    let mut outbox: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    while let Some(frame) = frames.recv().await {
        let mut panicked = Vec::new();
        for member in members.borrow().iter() {
            let mut slot = member.sender.borrow_mut();
            // Until its ICE and DTLS are up a player has no sender, and nothing to send.
            let Some(sender) = slot.as_mut() else { continue };
            if let Err(panic) = guarded(|| sender.send_frame(&frame, &mut outbox)) {
                *slot = None;
                panicked.push((member.news.clone(), panic));
            }
            if outbox.len() >= SEND_EVERY {
                socket.send_batch(&mut outbox);
            }
        }
        for (news, panic) in panicked {
            news.do_send(GroupNews::SendPanicked(panic));
        }
        socket.send_batch(&mut outbox);
    }
    GROUPS.with_borrow_mut(|groups| {
        if groups.get(&stream_key).is_some_and(|group| group.id == id) {
            groups.remove(&stream_key);
        }
    });
    for member in members.borrow_mut().drain(..) {
        member.news.do_send(GroupNews::StreamEnded);
    }
}

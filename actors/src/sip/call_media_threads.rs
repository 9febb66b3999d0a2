//! The threads the phone side of every call runs on (its RTP sockets, jitter buffer and
//! transcoding): one per core, each a single-threaded runtime, and each call's leg on one of
//! them for its whole life. A work-stealing runtime would wake idle threads to look for work
//! on every packet and move a call's task between threads; a leg has little to do per packet,
//! so those wake-ups cost more than the work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle};

/// The runtime of the thread the next leg runs on (the threads take legs in turn).
pub fn call_media_thread() -> Result<Handle, String> {
    static THREADS: OnceLock<Result<Vec<Handle>, String>> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let threads = THREADS.get_or_init(start_threads).as_ref().map_err(|e| format!("cannot start the call media threads: {e}"))?;
    Ok(threads[NEXT.fetch_add(1, Ordering::Relaxed) % threads.len()].clone())
}

fn start_threads() -> Result<Vec<Handle>, String> {
    let count = std::thread::available_parallelism().map_or(2, |n| n.get());
    (0..count)
        .map(|i| {
            let runtime = Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            let handle = runtime.handle().clone();
            // The thread drives its runtime for the life of the process.
            std::thread::Builder::new()
                .name(format!("call-media-{i}"))
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_take_the_threads_in_turn_and_run_there() {
        let names: Vec<String> = (0..4)
            .map(|_| {
                let (tx, rx) = std::sync::mpsc::channel();
                call_media_thread().unwrap().spawn(async move {
                    let _ = tx.send(std::thread::current().name().unwrap_or_default().to_owned());
                });
                rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap()
            })
            .collect();
        assert!(names.iter().all(|n| n.starts_with("call-media-")), "{names:?}");
        if std::thread::available_parallelism().map_or(2, |n| n.get()) > 1 {
            assert_ne!(names[0], names[1], "the next leg goes to another thread");
        }
    }
}

//! actix does not restart an actor that panicked, and a panic in one handler must not reach
//! anything but the object it was handling: handlers run their work through [`guarded`] and
//! turn a caught panic into an orderly stop of that one actor.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `work`, returning the panic's message instead of unwinding.
pub fn guarded<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_or_the_panic_message() {
        assert_eq!(guarded(|| 7), Ok(7));
        assert_eq!(guarded(|| -> u8 { panic!("boom {}", 1) }), Err("boom 1".to_owned()));
        assert_eq!(guarded(|| -> u8 { panic!("static") }), Err("static".to_owned()));
    }
}

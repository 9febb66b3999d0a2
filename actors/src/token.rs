//! Identifiers handed to clients.

use rand::Rng;

/// A session id for logs and REST (`/connection/find_all`); not a secret.
pub fn new_session_id() -> String {
    random_hex(8)
}

/// The `authToken` of `getUserData`: the key that re-attaches a keepAlive session, so it is
/// 128 random bits and never logged.
pub fn new_auth_token() -> String {
    random_hex(16)
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_and_distinct() {
        let a = super::new_auth_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, super::new_auth_token());
        assert_eq!(super::new_session_id().len(), 16);
    }
}

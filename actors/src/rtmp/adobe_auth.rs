//! Adobe-style RTMP authentication (`authmod=adobe`, as Wowza and AMS challenge publishers):
//! connect with `?authmod=adobe&user=U`, get rejected with a salt and challenge, reconnect with
//! a response that proves the password without sending it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};

/// What the server's rejection carries (`...?reason=needauth&user=U&salt=S&challenge=C&opaque=O`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub salt: String,
    pub challenge: Option<String>,
    pub opaque: Option<String>,
}

/// The first connect: announce the user and the scheme.
pub fn first_query(user: &str) -> String {
    format!("authmod=adobe&user={user}")
}

/// Reads the challenge from the description of a rejected connect; None when the rejection is
/// not an Adobe challenge (e.g. a plain refusal, or a wrong password after answering one).
pub fn parse_challenge(description: &str) -> Option<Challenge> {
    if !description.contains("authmod=adobe") || !description.contains("reason=needauth") {
        return None;
    }
    let query = description.rsplit_once('?')?.1;
    let field = |key: &str| {
        query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.trim().to_owned()))
    };
    Some(Challenge { salt: field("salt")?, challenge: field("challenge"), opaque: field("opaque") })
}

/// The second connect's query: `authmod=adobe&user=U&challenge=CC&response=R[&opaque=O]`.
/// `client_challenge` is our own random token.
pub fn response_query(user: &str, password: &str, challenge: &Challenge, client_challenge: &str) -> String {
    let hash1 = STANDARD.encode(Md5::digest(format!("{user}{}{password}", challenge.salt)));
    let server_part = challenge.opaque.as_deref().or(challenge.challenge.as_deref()).unwrap_or("");
    let response = STANDARD.encode(Md5::digest(format!("{hash1}{server_part}{client_challenge}")));
    let mut query = format!("authmod=adobe&user={user}&challenge={client_challenge}&response={response}");
    if let Some(opaque) = &challenge.opaque {
        query.push_str(&format!("&opaque={opaque}"));
    }
    query
}

/// The server side of the check, for tests and for servers built on this code.
pub fn verify(user: &str, password: &str, salt: &str, server_part: &str, client_challenge: &str, response: &str) -> bool {
    let hash1 = STANDARD.encode(Md5::digest(format!("{user}{salt}{password}")));
    STANDARD.encode(Md5::digest(format!("{hash1}{server_part}{client_challenge}"))) == response
}

#[cfg(test)]
mod tests {
    use super::*;

    const REJECTION: &str = "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : \
                             ?reason=needauth&user=alice&salt=Ns2K1w==&challenge=Q8pC9g==&opaque=Q8pC9g==";

    #[test]
    fn reads_the_challenge() {
        let c = parse_challenge(REJECTION).unwrap();
        assert_eq!(c.salt, "Ns2K1w==");
        assert_eq!(c.opaque.as_deref(), Some("Q8pC9g=="));
        assert_eq!(parse_challenge("[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=authfailed&opaque=x"), None);
        assert_eq!(parse_challenge("NetConnection.Connect.Rejected"), None);
    }

    #[test]
    fn the_response_verifies_and_hides_the_password() {
        let c = parse_challenge(REJECTION).unwrap();
        let query = response_query("alice", "s3cret", &c, "deadbeef");
        assert!(!query.contains("s3cret"));
        let response = query.split('&').find_map(|kv| kv.strip_prefix("response=")).unwrap();
        assert!(verify("alice", "s3cret", "Ns2K1w==", "Q8pC9g==", "deadbeef", response));
        assert!(!verify("alice", "wrong", "Ns2K1w==", "Q8pC9g==", "deadbeef", response));
        assert!(query.ends_with("&opaque=Q8pC9g=="));
    }
}

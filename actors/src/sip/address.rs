//! SIP names and addresses from what the WebSDK sends: user names checked against RFC 3261
//! (seed 003: a login with a space or `<>` made WCS hang; here it is refused at once), and the
//! callee of a call turned into a SIP URI.

/// Whether `name` can be the user part of a SIP URI as it is (RFC 3261 §25.1: unreserved,
/// escaped and user-unreserved characters).
pub fn check_sip_user(field: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{field} is empty"));
    }
    let bad = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(*c)));
    match bad {
        None => Ok(()),
        Some(c) if c.is_control() => Err(format!("{field} '{}' contains a control character", name.escape_debug())),
        Some(' ') => Err(format!("{field} '{name}' contains a space, which SIP does not allow in a user name")),
        Some(c) => Err(format!("{field} '{name}' contains '{c}', which SIP does not allow in a user name")),
    }
}

/// The Request-URI of a call to `callee`: a full `sip:`/`sips:` URI as given, `user@host` with
/// the scheme added, or a bare user at the account's domain.
pub fn callee_uri(callee: &str, domain: &str) -> Result<String, String> {
    let callee = callee.trim();
    if callee.is_empty() {
        return Err("the callee is empty".into());
    }
    if callee.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c)) {
        return Err(format!("the callee '{}' is not a SIP address", callee.escape_debug()));
    }
    let lower = callee.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") || lower.starts_with("tel:") {
        return Ok(callee.to_owned());
    }
    if callee.contains('@') {
        return Ok(format!("sip:{callee}"));
    }
    if domain.is_empty() {
        return Err(format!("the callee '{callee}' has no host and the account has no SIP domain"));
    }
    check_sip_user("callee", callee)?;
    Ok(format!("sip:{callee}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(check_sip_user("login", "1001").is_ok());
        assert!(check_sip_user("login", "alice.smith+work").is_ok());
        assert!(check_sip_user("login", "al ice").unwrap_err().contains("space"));
        assert!(check_sip_user("login", "<1001>").unwrap_err().contains("'<'"));
        assert!(check_sip_user("login", "a\u{1}b").unwrap_err().contains("control"));
        assert!(check_sip_user("login", "").is_err());
    }

    #[test]
    fn callees() {
        assert_eq!(callee_uri("1002", "127.0.0.1").unwrap(), "sip:1002@127.0.0.1");
        assert_eq!(callee_uri("bob@example.com", "x").unwrap(), "sip:bob@example.com");
        assert_eq!(callee_uri("sip:bob@example.com:5070", "x").unwrap(), "sip:bob@example.com:5070");
        assert!(callee_uri("1002", "").is_err());
        assert!(callee_uri("", "d").is_err());
        assert!(callee_uri("bo b", "d").is_err());
    }
}

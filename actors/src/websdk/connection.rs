//! The `connection` message (spec §2.1) and the `getUserData` echo built from it (§2.2).

use super::lenient::{as_bool, as_string, as_u64, is_unset};
use serde_json::{Map, Value};

pub const DEFAULT_APP_KEY: &str = "defaultApp";
pub const DEFAULT_SIP_PORT: u16 = 5060;

/// A client's login, as received, with the fields the server acts on pulled out.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRequest {
    pub app_key: String,
    pub keep_alive: bool,
    /// Present when the client re-attaches to a keepAlive session (§2.5).
    pub auth_token: Option<String>,
    pub client_version: Option<String>,
    pub media_providers: Vec<String>,
    pub sip: Option<SipCredentials>,
    /// Every field as the client sent it; `getUserData` echoes them.
    pub fields: Map<String, Value>,
}

/// SIP account fields of `connection`, with the defaults of §2.1 applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SipCredentials {
    pub login: String,
    /// Digest user name; the login when not given (seed 000).
    pub authentication_name: String,
    pub password: String,
    pub domain: String,
    /// The domain when not given.
    pub outbound_proxy: String,
    pub port: u16,
    /// Absent means `true`: the SDK's own SIP test sends only login, password and domain.
    pub register_required: bool,
}

impl ConnectionRequest {
    /// Reads `data[0]` of a `connection` frame. Every field is optional; a field of the wrong
    /// type is an error naming it.
    pub fn parse(payload: &Value) -> Result<Self, String> {
        let Value::Object(fields) = payload else {
            return Err("connection: expected an object with the session fields".into());
        };
        let text = |name: &str| -> Result<Option<String>, String> {
            match fields.get(name) {
                v if is_unset(v) => Ok(None),
                Some(v) => as_string(v).map(Some).ok_or_else(|| format!("connection: '{name}' must be a string")),
                None => Ok(None),
            }
        };
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match fields.get(name) {
                v if is_unset(v) => Ok(default),
                Some(v) => as_bool(v).ok_or_else(|| format!("connection: '{name}' must be true or false")),
                None => Ok(default),
            }
        };

        let media_providers = match fields.get("mediaProviders") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Some(_) => return Err("connection: 'mediaProviders' must be an array of strings".into()),
        };

        let sip = match text("sipLogin")? {
            None => None,
            Some(login) => {
                let port = match fields.get("sipPort") {
                    v if is_unset(v) => DEFAULT_SIP_PORT,
                    Some(v) => as_u64(v)
                        .and_then(|p| u16::try_from(p).ok())
                        .filter(|p| *p > 0)
                        .ok_or("connection: 'sipPort' must be a port number (1-65535)")?,
                    None => DEFAULT_SIP_PORT,
                };
                let domain = text("sipDomain")?.unwrap_or_default();
                Some(SipCredentials {
                    authentication_name: text("sipAuthenticationName")?.unwrap_or_else(|| login.clone()),
                    password: text("sipPassword")?.unwrap_or_default(),
                    outbound_proxy: text("sipOutboundProxy")?.unwrap_or_else(|| domain.clone()),
                    register_required: flag("sipRegisterRequired", true)?,
                    domain,
                    port,
                    login,
                })
            }
        };

        Ok(ConnectionRequest {
            app_key: text("appKey")?.unwrap_or_else(|| DEFAULT_APP_KEY.to_owned()),
            keep_alive: flag("keepAlive", false)?,
            auth_token: text("authToken")?,
            client_version: text("clientVersion")?,
            media_providers,
            sip,
            fields: fields.clone(),
        })
    }

    /// The `getUserData` object: the connection as the server stores it. Echoes what the
    /// client sent (the SDK replaces its own config with it and reads `sipLogin` from it),
    /// never the SIP password, and adds the session token and status.
    pub fn user_data(&self, auth_token: &str) -> Map<String, Value> {
        let mut data = self.fields.clone();
        data.remove("sipPassword");
        data.insert("appKey".into(), self.app_key.clone().into());
        data.insert("authToken".into(), auth_token.into());
        data.insert("status".into(), "ESTABLISHED".into());
        data.insert("keepAlive".into(), self.keep_alive.into());
        for flag in ["useWsTunnel", "useWsTunnelPacketization2", "useBase64BinaryEncoding"] {
            data.insert(flag.into(), false.into());
        }
        if let Some(sip) = &self.sip {
            data.insert("sipLogin".into(), sip.login.clone().into());
            data.insert("sipAuthenticationName".into(), sip.authentication_name.clone().into());
            data.insert("sipDomain".into(), sip.domain.clone().into());
            data.insert("sipOutboundProxy".into(), sip.outbound_proxy.clone().into());
            data.insert("sipPort".into(), sip.port.to_string().into());
            data.insert("sipRegisterRequired".into(), sip.register_required.into());
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_defaults_to_an_empty_login() {
        let c = ConnectionRequest::parse(&json!({})).unwrap();
        assert_eq!(c.app_key, "defaultApp");
        assert!(!c.keep_alive);
        assert_eq!(c.sip, None);
    }

    #[test]
    fn reads_what_the_sdk_sends() {
        let c = ConnectionRequest::parse(&json!({
            "appKey": "defaultApp", "mediaProviders": ["WebRTC", "MSE", "WSPlayer"], "clientVersion": "2.0",
            "keepAlive": true, "msePacketizationVersion": 2, "custom": {"a": 1}
        }))
        .unwrap();
        assert!(c.keep_alive);
        assert_eq!(c.media_providers, ["WebRTC", "MSE", "WSPlayer"]);
        assert_eq!(c.client_version.as_deref(), Some("2.0"));
    }

    #[test]
    fn sip_fields_take_their_documented_defaults() {
        let c = ConnectionRequest::parse(&json!({
            "sipLogin": "10006", "sipPassword": "pw", "sipDomain": "sip.example", "sipPort": "", "sipOutboundProxy": ""
        }))
        .unwrap();
        let sip = c.sip.unwrap();
        assert_eq!(sip.authentication_name, "10006");
        assert_eq!(sip.outbound_proxy, "sip.example");
        assert_eq!(sip.port, 5060);
        assert!(sip.register_required);
    }

    #[test]
    fn sip_strings_from_form_fields_are_accepted() {
        let c = ConnectionRequest::parse(&json!({
            "sipLogin": "alice", "sipAuthenticationName": "alice-auth", "sipDomain": "d", "sipPort": "5070",
            "sipRegisterRequired": "false"
        }))
        .unwrap();
        let sip = c.sip.unwrap();
        assert_eq!((sip.authentication_name.as_str(), sip.port, sip.register_required), ("alice-auth", 5070, false));
    }

    #[test]
    fn wrong_types_are_named() {
        let e = ConnectionRequest::parse(&json!({"keepAlive": "maybe"})).unwrap_err();
        assert!(e.contains("keepAlive"), "{e}");
        let e = ConnectionRequest::parse(&json!({"sipLogin": "a", "sipPort": "70000"})).unwrap_err();
        assert!(e.contains("sipPort"), "{e}");
        assert!(ConnectionRequest::parse(&json!("x")).is_err());
    }

    #[test]
    fn user_data_echoes_everything_but_the_password() {
        let c = ConnectionRequest::parse(&json!({
            "clientOSVersion": "5.0", "sipLogin": "10006", "sipPassword": "secret", "sipDomain": "d", "custom": {"k": "v"}
        }))
        .unwrap();
        let d = c.user_data("tok");
        assert_eq!(d["authToken"], "tok");
        assert_eq!(d["status"], "ESTABLISHED");
        assert_eq!(d["sipLogin"], "10006");
        assert_eq!(d["clientOSVersion"], "5.0");
        assert_eq!(d["custom"], json!({"k": "v"}));
        assert_eq!(d["sipPort"], "5060");
        assert!(!d.contains_key("sipPassword"));
    }
}

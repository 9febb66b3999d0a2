//! Lenient value typing: demo pages send `"true"` for booleans and `"5060"` for ports
//! (spec §1.2 rule 7, rest-api §1.2), so both the JSON type and its string form are accepted.

use serde_json::Value;

/// `true`/`false`, `"true"`/`"false"` (any case, trimmed), `1`/`0` and `"1"`/`"0"`.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative integer given as a JSON number or a numeric string.
pub fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string, or a number written as one (ids typed into a form may arrive as numbers).
pub fn as_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `None` for an absent or `null` field or an empty string: the SDK and the pages use all
/// three for "not set".
pub fn is_unset(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_in_every_spelling() {
        for v in [json!(true), json!("true"), json!(" TRUE "), json!(1), json!("1")] {
            assert_eq!(as_bool(&v), Some(true), "{v}");
        }
        for v in [json!(false), json!("false"), json!("False"), json!(0), json!("0")] {
            assert_eq!(as_bool(&v), Some(false), "{v}");
        }
        for v in [json!("yes"), json!(2), json!(null), json!([])] {
            assert_eq!(as_bool(&v), None, "{v}");
        }
    }

    #[test]
    fn numbers_and_numeric_strings() {
        assert_eq!(as_u64(&json!(5060)), Some(5060));
        assert_eq!(as_u64(&json!("5060")), Some(5060));
        assert_eq!(as_u64(&json!("50x")), None);
        assert_eq!(as_u64(&json!(-1)), None);
    }

    #[test]
    fn unset_means_absent_null_or_blank() {
        assert!(is_unset(None));
        assert!(is_unset(Some(&json!(null))));
        assert!(is_unset(Some(&json!("  "))));
        assert!(!is_unset(Some(&json!("x"))));
        assert!(!is_unset(Some(&json!(false))));
    }
}

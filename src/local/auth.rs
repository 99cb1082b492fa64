//! Who may call the embedded Admin API: no token at all (open) or bearer tokens with the
//! `definitions:*` permissions Allma's Lambda checks.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// One of the three definition permissions of Allma (`definitions:read|write|delete`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `definitions:read`: every read, and required for every flow/prompt call.
    Read,
    /// `definitions:write`: create, update, version, publish, unpublish, import.
    Write,
    /// `definitions:delete`: DELETE of a version.
    Delete,
}

impl Permission {
    /// All three permissions, as a `FLOW_MANAGER` has them.
    pub const ALL: [Permission; 3] = [Permission::Read, Permission::Write, Permission::Delete];
}

/// Access control of a [`super::Server`].
#[derive(Clone, Default)]
pub struct Auth {
    /// `None` = open: every request has every permission, with or without a token.
    tokens: Option<HashMap<String, BTreeSet<Permission>>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Token values never reach logs.
        match &self.tokens {
            None => f.write_str("Auth::open"),
            Some(t) => write!(f, "Auth::tokens({} tokens)", t.len()),
        }
    }
}

/// What the caller may do, once its token was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant(BTreeSet<Permission>);

impl Grant {
    /// True when the caller holds `permission`.
    pub(crate) fn allows(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }
}

impl Auth {
    /// No authentication: every request may do everything (the local CLI default).
    pub fn open() -> Auth {
        Auth { tokens: None }
    }

    /// Only the given bearer tokens are accepted, each with its permissions; any other
    /// request gets API Gateway's 401 `{"message":"Unauthorized"}`.
    pub fn tokens<T, P>(tokens: impl IntoIterator<Item = (T, P)>) -> Auth
    where
        T: Into<String>,
        P: IntoIterator<Item = Permission>,
    {
        let map = tokens
            .into_iter()
            .map(|(t, p)| (t.into(), p.into_iter().collect()))
            .collect();
        Auth { tokens: Some(map) }
    }

    /// The grant for an `Authorization` header value; `None` means 401.
    pub(crate) fn check(&self, header: Option<&str>) -> Option<Grant> {
        let Some(tokens) = &self.tokens else {
            return Some(Grant(Permission::ALL.into_iter().collect()));
        };
        let token = header?.strip_prefix("Bearer ")?.trim();
        tokens.get(token).map(|p| Grant(p.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_auth_grants_everything_without_a_token() {
        let grant = Auth::open().check(None).expect("grant");
        assert!(Permission::ALL.iter().all(|p| grant.allows(*p)));
    }

    #[test]
    fn unknown_or_missing_token_is_refused() {
        let auth = Auth::tokens([("t", [Permission::Read])]);
        assert!(auth.check(None).is_none());
        assert!(auth.check(Some("Bearer x")).is_none());
        let grant = auth.check(Some("Bearer t")).expect("grant");
        assert!(grant.allows(Permission::Read) && !grant.allows(Permission::Write));
    }

    #[test]
    fn debug_output_hides_token_values() {
        let auth = Auth::tokens([("s3cret-token", Permission::ALL)]);
        let printed = format!("{auth:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert_eq!(printed, "Auth::tokens(1 tokens)");
    }
}

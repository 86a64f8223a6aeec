//! Admin authentication: argon2id password check against configured accounts, HS256
//! JWTs with pinned algorithm, issuer and audience, and a per-address limit on
//! failed logins kept in the item store (so it holds across Lambda instances).

pub mod token;

use super::records::{login_failures_pk, RATE_SK};
use super::{AppError, Deps};
use crate::ports::{Condition, Item, WriteOp};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;
use std::time::Duration;

/// Password checks allowed from one address within `FAILURE_WINDOW` (a success
/// clears the count).
pub const MAX_FAILURES: u64 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The longest a token may live, in seconds.
pub const MAX_TTL: u64 = 24 * 3600;
/// Seconds a token's time window is stretched by at each end.
const LEEWAY: i64 = 5;

/// A signing secret that never shows itself in logs or debug output.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < 32 {
            return Err("must be at least 32 bytes");
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AdminAccount {
    pub username: String,
    /// An argon2id PHC string, never a password.
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub secret: Secret,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
    pub admins: Vec<AdminAccount>,
}

/// An argon2id hash (default parameters, as `hash_password` makes) of a random
/// password nobody knows, verified against when a username is unknown. A constant,
/// because hashing at start-up would add ~40 ms to every cold start.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$5+z4A+s1UJTKDHY6L0zugA$vI7Z/0b+gzuAeiXZFtZCnQ/Qi5zr10Wgac7X6zdq1v4";

pub const DEFAULT_ISSUER: &str = "cloud-consulting-backend";
pub const DEFAULT_AUDIENCE: &str = "cloud-consulting-admin";

impl AdminAccount {
    /// A username and an argon2id hash: what a configured account must have.
    pub fn is_usable(&self) -> bool {
        !self.username.trim().is_empty()
            && PasswordHash::new(&self.password_hash)
                .is_ok_and(|h| h.algorithm.as_str() == "argon2id")
    }
}

/// An argon2id hash of a password, for configuration (`ADMIN_USERS`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub username: String,
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("Invalid username or password")]
    BadCredentials,
    #[error("Too many failed logins; retry later")]
    RateLimited { retry_after: u64 },
    #[error("Missing or invalid token")]
    Unauthorized,
    #[error("This token does not grant admin access")]
    Forbidden,
}

pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

pub struct Authenticator {
    cfg: AuthConfig,
    deps: Deps,
    /// Verified against when the username is unknown, so both paths cost the same.
    dummy_hash: String,
}

impl Authenticator {
    pub fn new(cfg: AuthConfig, deps: Deps) -> Self {
        Self {
            cfg,
            deps,
            dummy_hash: DUMMY_HASH.to_string(),
        }
    }

    /// Checks a password and issues a token. Hashing runs on the blocking pool: it
    /// is deliberately slow, and on the async thread it would stall every request
    /// (and, in a function, the runtime's own polling) while it runs.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<Issued, AppError> {
        let now = self.deps.clock.now().unix_timestamp();
        // Reserved before the check, not counted after it: otherwise every request
        // that arrives while the first ones are being hashed passes the limit.
        self.reserve_attempt(client, now).await?;
        let account = self.cfg.admins.iter().find(|a| a.username == username);
        let hash = account.map_or(self.dummy_hash.clone(), |a| a.password_hash.clone());
        let password = password.to_string();
        let verified = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("password check stopped: {e}")))?;
        match account {
            Some(a) if verified => {
                self.clear_attempts(client).await?;
                Ok(self.issue(&a.username, now))
            }
            // The reserved attempt stays counted: it was a failure.
            _ => Err(AuthError::BadCredentials.into()),
        }
    }

    fn issue(&self, username: &str, now: i64) -> Issued {
        let exp = now + self.cfg.ttl.as_secs() as i64;
        let claims = Claims {
            sub: format!("admin:{username}"),
            username: username.into(),
            roles: vec!["admin".into()],
            iss: self.cfg.issuer.clone(),
            aud: self.cfg.audience.clone(),
            iat: now,
            nbf: now,
            exp,
        };
        let token = token::sign(&claims, &self.cfg.secret.0);
        Issued {
            token,
            expires_at: exp,
        }
    }

    /// Checks a bearer token: signature (HS256 only), issuer, audience, time window
    /// (with `LEEWAY` for clocks that disagree a little), then the admin role. Every
    /// claim of `Claims` must be present.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims: Claims =
            token::verify(token, &self.cfg.secret.0).map_err(|_| AuthError::Unauthorized)?;
        let now = self.deps.clock.now().unix_timestamp();
        let in_window = claims.nbf <= now + LEEWAY && now <= claims.exp.saturating_add(LEEWAY);
        if claims.iss != self.cfg.issuer || claims.aud != self.cfg.audience || !in_window {
            return Err(AuthError::Unauthorized);
        }
        if claims.roles.iter().any(|r| r == "admin") {
            Ok(claims)
        } else {
            Err(AuthError::Forbidden)
        }
    }

    /// Counts one attempt in the address's window, or refuses it once
    /// `MAX_FAILURES` are counted. A conditional write on the counter's version, so
    /// of concurrent attempts exactly as many as the limit leaves room for get in.
    /// A lost race means another attempt was counted, so the counter only rises and
    /// the loop ends within the limit plus a few rounds; if it still has not, the
    /// attempt is refused rather than let through uncounted.
    async fn reserve_attempt(&self, client: &str, now: i64) -> Result<(), AppError> {
        let pk = login_failures_pk(client);
        for _ in 0..MAX_FAILURES + 5 {
            let current = self.deps.store.get(&pk, RATE_SK).await?;
            let (attempts, expires, cond, version) = match &current {
                Some(i) => (
                    i.data["failures"].as_u64().unwrap_or(0),
                    i.expires_at
                        .unwrap_or(now + FAILURE_WINDOW.as_secs() as i64),
                    Condition::Version(i.version),
                    i.version.saturating_add(1),
                ),
                None => (
                    0,
                    now + FAILURE_WINDOW.as_secs() as i64,
                    Condition::NotExists,
                    1,
                ),
            };
            if attempts >= MAX_FAILURES {
                let retry_after = expires.saturating_sub(now).max(1) as u64;
                return Err(AuthError::RateLimited { retry_after }.into());
            }
            let mut item =
                Item::new(&pk, RATE_SK, json!({ "failures": attempts + 1 })).expiring_at(expires);
            item.version = version;
            match self
                .deps
                .store
                .write(vec![WriteOp::Put {
                    item,
                    condition: cond,
                }])
                .await
            {
                Ok(()) => return Ok(()),
                Err(crate::ports::StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::RateLimited { retry_after: 1 }.into())
    }

    /// A correct password forgets the address's failures, so that an admin who
    /// mistyped a few times is not locked out by their own earlier attempts.
    async fn clear_attempts(&self, client: &str) -> Result<(), AppError> {
        self.deps
            .store
            .write(vec![WriteOp::Delete {
                pk: login_failures_pk(client),
                sk: RATE_SK.into(),
                condition: Condition::None,
            }])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_argon2id_accounts_are_usable() {
        let good = AdminAccount {
            username: "admin".into(),
            password_hash: hash_password("pw"),
        };
        assert!(good.is_usable());
        let plain = AdminAccount {
            username: "a".into(),
            password_hash: "hunter2".into(),
        };
        assert!(!plain.is_usable());
        let nameless = AdminAccount {
            username: " ".into(),
            ..good
        };
        assert!(!nameless.is_usable());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real_hash = hash_password("x");
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new(b"super-secret-value-that-is-long-enough".to_vec()).unwrap();
        assert!(!format!("{s:?}").contains("super"));
    }
}

//! Local identity. Deployed, API Gateway's JWT authorizer verifies the caller's token and hands
//! the claims to the function; the functions never see or check a token. Locally the gateway
//! plays that authorizer with HS256 tokens signed by a per-checkout secret, so the functions run
//! exactly as deployed, with no "dev mode" in them.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// `iss` of local tokens; also what the local authorizer requires.
pub const ISSUER: &str = "http://127.0.0.1/devhost";
/// `aud` of local tokens; also what the local authorizer requires.
pub const AUDIENCE: &str = "customers-local";
/// Where the secret lives, relative to the repository root (`.local/` is git-ignored).
pub const SECRET_PATH: &str = ".local/dev-jwt-secret";

const SECRET_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The HS256 key shared by `devhost token` and the local gateway.
#[derive(Clone)]
pub struct DevSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for DevSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevSecret(..)")
    }
}

impl DevSecret {
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads the secret (hex) at `path`, creating it from 32 random bytes on first use. The
    /// file is created owner-only (0600) and atomically, so two processes starting together
    /// end up with the same secret.
    pub fn load_or_create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        match Self::load(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path),
            other => other,
        }
    }

    fn load(path: &Path) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let bytes = decode_hex(text.trim())
            .filter(|b| b.len() == SECRET_LEN)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: expected {} hex digits; delete it to get a new one",
                        path.display(),
                        SECRET_LEN * 2
                    ),
                )
            })?;
        Ok(Self(bytes.try_into().expect("length checked")))
    }

    /// Writes the secret to a private temporary file, then publishes it with a hard link,
    /// which fails if the file exists: readers never see a half-written secret, and when two
    /// processes race, both end up with the one that was published first.
    fn create(path: &Path) -> io::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let secret = Self(random_bytes()?);
        let temporary = dir.join(format!(".dev-jwt-secret.{}", ulid::Ulid::new()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        writeln!(file, "{}", encode_hex(&secret.0))?;
        file.sync_all()?;
        let published = std::fs::hard_link(&temporary, path);
        std::fs::remove_file(&temporary)?;
        match published {
            Ok(()) => Ok(secret),
            // Someone else published theirs in the meantime: theirs is the secret.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(e),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

/// Why a token was refused. API Gateway answers all of these the same (401); the reason is for
/// the local log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT (header.payload.signature)")]
    Malformed,
    #[error("algorithm is not HS256")]
    Algorithm,
    #[error("signature does not match")]
    Signature,
    #[error("issuer is not {ISSUER}")]
    Issuer,
    #[error("audience is not {AUDIENCE}")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// A signed token for `user` of `tenant` with `roles`, valid for `ttl`.
pub fn issue(
    secret: &DevSecret,
    tenant: &str,
    user: &str,
    roles: &[String],
    ttl: Duration,
) -> String {
    let now = unix_now();
    let claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user,
        "tenant_id": tenant,
        "roles": roles,
        "iat": now,
        "exp": now + ttl.as_secs(),
    });
    sign(secret, &claims)
}

/// Signs arbitrary claims: for tests that need a token `issue` would not make (another
/// audience, an expired one, odd claim types).
pub fn sign(secret: &DevSecret, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = secret.mac();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// The claims of a token this checkout's secret signed, if it is HS256, for our issuer and
/// audience, and not expired. The signature is checked first and in constant time.
pub fn verify(secret: &DevSecret, token: &str) -> Result<Map<String, Value>, TokenError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.contains('.') {
        return Err(TokenError::Malformed);
    }
    let header = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(TokenError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = secret.mac();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims = decode_json(payload)?;
    check_claims(&claims, unix_now())?;
    Ok(claims)
}

fn check_claims(claims: &Map<String, Value>, now: u64) -> Result<(), TokenError> {
    if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
        return Err(TokenError::Issuer);
    }
    let audience_matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == AUDIENCE,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    if !audience_matches {
        return Err(TokenError::Audience);
    }
    match claims.get("exp").and_then(Value::as_u64) {
        Some(exp) if exp > now => {}
        _ => return Err(TokenError::Expired),
    }
    if claims
        .get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|nbf| nbf > now)
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

fn decode_json(part: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The kernel's randomness, read directly: std has no public RNG and a new crate is not needed.
fn random_bytes() -> io::Result<[u8; SECRET_LEN]> {
    let mut bytes = [0u8; SECRET_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> DevSecret {
        DevSecret::from_bytes([byte; SECRET_LEN])
    }

    fn roles() -> Vec<String> {
        vec!["administrator".into(), "technician".into()]
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let token = issue(
            &secret(1),
            "t-1",
            "u-1",
            &roles(),
            Duration::from_secs(3600),
        );
        let claims = verify(&secret(1), &token).unwrap();
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["sub"], "u-1");
        assert_eq!(claims["tenant_id"], "t-1");
        assert_eq!(claims["roles"], json!(["administrator", "technician"]));
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
    }

    #[test]
    fn another_secret_or_a_changed_payload_is_refused() {
        let token = issue(&secret(1), "t-1", "u-1", &roles(), Duration::from_secs(60));
        assert_eq!(verify(&secret(2), &token), Err(TokenError::Signature));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "tenant_id": "t-2", "exp": unix_now() + 60})
                .to_string(),
        );
        parts[1] = &forged;
        assert_eq!(
            verify(&secret(1), &parts.join(".")),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn expired_tokens_and_other_audiences_or_issuers_are_refused() {
        let now = unix_now();
        let base = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": now + 60});
        let with = |key: &str, value: Value| {
            let mut claims = base.clone();
            claims[key] = value;
            sign(&secret(1), &claims)
        };
        assert!(verify(&secret(1), &sign(&secret(1), &base)).is_ok());
        assert_eq!(
            verify(&secret(1), &with("exp", json!(now - 1))),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&secret(1), &with("aud", json!("someone-else"))),
            Err(TokenError::Audience)
        );
        assert!(verify(&secret(1), &with("aud", json!(["x", AUDIENCE]))).is_ok());
        assert_eq!(
            verify(&secret(1), &with("iss", json!("https://evil"))),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            verify(&secret(1), &with("nbf", json!(now + 600))),
            Err(TokenError::NotYetValid)
        );
        let mut no_exp = base.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&secret(1), &sign(&secret(1), &no_exp)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_algorithms_and_garbage_are_refused() {
        let token = issue(&secret(1), "t", "u", &[], Duration::from_secs(60));
        let (_, rest) = token.split_once('.').unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(
            verify(&secret(1), &format!("{none_header}.{rest}")),
            Err(TokenError::Algorithm)
        );
        assert_eq!(verify(&secret(1), "abc"), Err(TokenError::Malformed));
        assert_eq!(verify(&secret(1), "a.b.c.d"), Err(TokenError::Malformed));
        assert_eq!(verify(&secret(1), ""), Err(TokenError::Malformed));
    }

    #[test]
    fn the_secret_file_is_created_once_owner_only_and_reread() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("devhost-secret-{}", ulid::Ulid::new()));
        let path = dir.join("nested/dev-jwt-secret");
        let first = DevSecret::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = DevSecret::load_or_create(&path).unwrap();
        assert_eq!(first.0, again.0);
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim().len(), 64);
        std::fs::write(&path, "not hex").unwrap();
        assert!(DevSecret::load_or_create(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Seen in CI: test processes starting together on a fresh clone read a secret file
    /// another one had created but not yet written.
    #[test]
    fn processes_racing_to_create_the_secret_all_get_the_same_one() {
        let dir = std::env::temp_dir().join(format!("devhost-race-{}", ulid::Ulid::new()));
        let path = dir.join("dev-jwt-secret");
        let secrets: Vec<[u8; SECRET_LEN]> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| DevSecret::load_or_create(&path).unwrap().0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| *s == secrets[0]));
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! A presigned POST (S3's browser-based upload, signed with SigV4): a policy document that S3
//! itself enforces, unlike a presigned PUT URL, which limits neither the size nor anything but
//! the key. The AWS SDK for Rust has no presigned POST, so the policy is written and signed
//! here; the signing key and signature come from our SigV4 signer ([`kit::sigv4`]).
//!
//! Format: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>.
//! The client sends `multipart/form-data` with every field of [`signed_fields`] and the file as
//! the last part, named `file`. S3 refuses the upload when the policy has expired, the key or
//! bucket differ, the file is empty or larger than the limit, or a field is added or changed.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use kit::sigv4;
use serde_json::{Value, json};

/// What an upload may be: one object of `bucket` under exactly `key`, of 1 to `max_bytes`
/// bytes, sent before `expires_at`.
#[derive(Debug, Clone)]
pub struct UploadPolicy<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub max_bytes: u64,
    pub expires_at: DateTime<Utc>,
}

/// The credentials the policy is signed with: S3 checks the upload against their permissions
/// (the signer's `s3:PutObject` on `imports/*`). A Lambda function's are temporary, and then
/// the session token is a signed field too.
#[derive(Debug, Clone)]
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// The form fields of an upload signed at `now`: the key, the credential fields, the policy
/// (base64) and its signature.
pub fn signed_fields(
    policy: &UploadPolicy<'_>,
    signer: &Signer<'_>,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let stamp = sigv4::Stamp::at(SystemTime::from(now));
    let credential = sigv4::credential(signer.access_key_id, &stamp, signer.region, "s3");
    let mut fields = BTreeMap::from([
        ("key".to_owned(), policy.key.to_owned()),
        ("x-amz-algorithm".to_owned(), sigv4::ALGORITHM.to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), stamp.date_time().to_owned()),
    ]);
    if let Some(token) = signer.session_token {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    let document = policy_document(policy, &fields);
    let encoded = STANDARD.encode(document.to_string());
    let key = sigv4::signing_key(signer.secret_access_key, stamp.date(), signer.region, "s3");
    let signature = sigv4::signature(&key, encoded.as_bytes());
    fields.insert("policy".to_owned(), encoded);
    fields.insert("x-amz-signature".to_owned(), signature);
    fields
}

/// The policy: every field the form carries is named with its exact value, so none can be
/// changed; `Content-Type` may be sent with any value (browsers and scripts differ), which
/// changes nothing about the bytes stored.
fn policy_document(policy: &UploadPolicy<'_>, fields: &BTreeMap<String, String>) -> Value {
    let mut conditions = vec![
        json!({ "bucket": policy.bucket }),
        json!(["eq", "$key", policy.key]),
        json!(["content-length-range", 1, policy.max_bytes]),
        json!(["starts-with", "$Content-Type", ""]),
    ];
    conditions.extend(
        fields
            .iter()
            .filter(|(name, _)| name.starts_with("x-amz-"))
            .map(|(name, value)| json!({ name: value })),
    );
    json!({
        "expiration": policy.expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "conditions": conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn decoded_policy(fields: &BTreeMap<String, String>) -> Value {
        serde_json::from_slice(&STANDARD.decode(&fields["policy"]).unwrap()).unwrap()
    }

    fn policy() -> UploadPolicy<'static> {
        UploadPolicy {
            bucket: "imports-bucket",
            key: "imports/acme/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv",
            max_bytes: 104_857_600,
            expires_at: at("2025-03-04T09:30:02Z"),
        }
    }

    const TEMPORARY: Signer<'static> = Signer {
        access_key_id: "ASIAEXAMPLE",
        secret_access_key: "secret",
        session_token: Some("session-token"),
        region: "eu-north-1",
    };

    #[test]
    fn the_policy_names_the_bucket_the_exact_key_the_size_range_and_every_signed_field() {
        let fields = signed_fields(&policy(), &TEMPORARY, at("2025-03-04T09:15:02Z"));
        assert_eq!(
            fields.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "key",
                "policy",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "x-amz-signature"
            ]
        );
        assert_eq!(fields["key"], policy().key);
        assert_eq!(
            fields["x-amz-credential"],
            "ASIAEXAMPLE/20250304/eu-north-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-date"], "20250304T091502Z");
        assert_eq!(
            decoded_policy(&fields),
            json!({
                "expiration": "2025-03-04T09:30:02.000Z",
                "conditions": [
                    {"bucket": "imports-bucket"},
                    ["eq", "$key", "imports/acme/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv"],
                    ["content-length-range", 1, 104_857_600],
                    ["starts-with", "$Content-Type", ""],
                    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                    {"x-amz-credential": "ASIAEXAMPLE/20250304/eu-north-1/s3/aws4_request"},
                    {"x-amz-date": "20250304T091502Z"},
                    {"x-amz-security-token": "session-token"},
                ]
            })
        );
    }

    #[test]
    fn long_term_credentials_sign_no_session_token() {
        let signer = Signer {
            session_token: None,
            ..TEMPORARY
        };
        let fields = signed_fields(&policy(), &signer, at("2025-03-04T09:15:02Z"));
        assert!(!fields.contains_key("x-amz-security-token"));
        let policy = decoded_policy(&fields).to_string();
        assert!(!policy.contains("security-token"), "{policy}");
    }

    /// The signature is HMAC-SHA256 of the base64 policy under the SigV4 signing key of the
    /// policy's date, region and `s3`: recomputed here step by step from the specification
    /// (kDate = HMAC("AWS4" + secret, date), kRegion, kService, kSigning) with `hmac` directly,
    /// so that a wrong date, region or service in the signer would show.
    #[test]
    fn the_signature_is_sigv4_over_the_encoded_policy() {
        use hmac::{Hmac, Mac};
        use sha2::Sha256;
        fn hmac(key: &[u8], data: &str) -> Vec<u8> {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        let fields = signed_fields(&policy(), &TEMPORARY, at("2025-03-04T09:15:02Z"));
        let k_date = hmac(b"AWS4secret", "20250304");
        let k_region = hmac(&k_date, "eu-north-1");
        let k_service = hmac(&k_region, "s3");
        let k_signing = hmac(&k_service, "aws4_request");
        let expected: String = hmac(&k_signing, &fields["policy"])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(fields["x-amz-signature"], expected);
    }
}

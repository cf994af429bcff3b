//! SigV4, as every request of our own is signed: in headers ([`Signer::headers`]), in a
//! presigned URL's query ([`Signer::presign`]), and the signing key and signature an S3 upload
//! policy needs ([`signing_key`], [`signature`]).
//!
//! Written here instead of through `aws-sigv4` for its CPU: that crate builds a header map and
//! a canonical request of owned strings and derives the signing key (four HMACs) afresh for
//! every request, about 20 µs of a text's 5 calls each on the bench machine (perf, issue 15);
//! here the canonical request is written into one buffer and the key is derived once a day per
//! credentials. The rules are SigV4's ("Create a signed AWS API request", AWS IAM user guide);
//! the tests check the output against `aws-sigv4` for generated requests and against AWS's
//! documented examples.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::Credentials;
use hmac::{Hmac, Mac};
use http::Uri;
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// What a presigned request signs for its body: S3 takes any.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Headers never signed: set or changed on the way (the signature itself, proxies' and
/// tracing's), as the AWS SDKs leave them out.
const UNSIGNED_HEADERS: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];

/// How a service wants its requests signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Every service but S3: the path's dot segments removed and the path encoded again.
    Standard,
    /// S3: the path signed as it is sent (encoded once), and the body's SHA-256 sent and
    /// signed in `x-amz-content-sha256`.
    S3,
}

/// A request to sign: `uri`'s path and query already URI-encoded, as sent.
pub struct Request<'a> {
    pub method: &'a str,
    pub uri: &'a Uri,
    /// Header names in lower case; none of those the signer adds (`host`, `x-amz-date`,
    /// `x-amz-security-token`, `x-amz-content-sha256`, `authorization`).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Body<'a>,
}

#[derive(Clone, Copy)]
pub enum Body<'a> {
    Bytes(&'a [u8]),
    /// Not signed ([`UNSIGNED_PAYLOAD`]): a presigned URL's, whose body is not known.
    Unsigned,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a URL to sign needs a host: {0}")]
    NoHost(String),
}

/// Signs for one service in one region; clones share the key derived for the day.
#[derive(Clone)]
pub struct Signer {
    service: &'static str,
    region: String,
    flavour: Flavour,
    key: Arc<Mutex<Option<DayKey>>>,
}

/// A signing key, for the credentials and the day it was derived for, ready to sign with.
struct DayKey {
    date: [u8; 8],
    access_key_id: String,
    secret: String,
    mac: Hmac<Sha256>,
}

impl Signer {
    pub fn new(service: &'static str, region: impl Into<String>, flavour: Flavour) -> Self {
        Self {
            service,
            region: region.into(),
            flavour,
            key: Arc::default(),
        }
    }

    /// The headers that sign `request` at `time`: `x-amz-date`, the session token (if the
    /// credentials have one), S3's `x-amz-content-sha256`, and `authorization`.
    pub fn headers(
        &self,
        request: &Request<'_>,
        credentials: &Credentials,
        time: SystemTime,
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        let stamp = Stamp::at(time);
        let payload = payload_hash(request.body);
        let mut headers = signed_headers_of(request)?;
        headers.push(("x-amz-date", Cow::Borrowed(stamp.date_time())));
        if let Some(token) = credentials.session_token() {
            headers.push(("x-amz-security-token", Cow::Borrowed(token)));
        }
        if self.flavour == Flavour::S3 {
            headers.push(("x-amz-content-sha256", Cow::Borrowed(payload.as_str())));
        }
        // Stable: values of one name keep their order, as SigV4 joins them.
        headers.sort_by(|a, b| a.0.cmp(b.0));
        let signed_headers = signed_names(&headers);

        let canonical = self.canonical_request(request, &[], &headers, &signed_headers, &payload);
        let signature = self.sign(&canonical, &stamp, credentials);
        let mut authorization = String::with_capacity(256);
        authorization.push_str(ALGORITHM);
        authorization.push_str(" Credential=");
        authorization.push_str(&self.credential(credentials.access_key_id(), &stamp));
        authorization.push_str(", SignedHeaders=");
        authorization.push_str(&signed_headers);
        authorization.push_str(", Signature=");
        authorization.push_str(&signature);

        let mut added = Vec::with_capacity(4);
        added.push(("x-amz-date", stamp.date_time().to_owned()));
        if let Some(token) = credentials.session_token() {
            added.push(("x-amz-security-token", token.to_owned()));
        }
        if self.flavour == Flavour::S3 {
            added.push(("x-amz-content-sha256", payload));
        }
        added.push(("authorization", authorization));
        Ok(added)
    }

    /// `request`'s URL presigned at `time` for `expires_in`: the signing values and the
    /// signature added to its query. Only `host` and the request's headers are signed; the
    /// session token (if any) is a signed query parameter.
    pub fn presign(
        &self,
        request: &Request<'_>,
        credentials: &Credentials,
        time: SystemTime,
        expires_in: Duration,
    ) -> Result<String, SignError> {
        let stamp = Stamp::at(time);
        let mut headers = signed_headers_of(request)?;
        headers.sort_by(|a, b| a.0.cmp(b.0));
        let signed_headers = signed_names(&headers);

        let credential = self.credential(credentials.access_key_id(), &stamp);
        let expires = expires_in.as_secs().to_string();
        let mut added = vec![
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", credential.as_str()),
            ("X-Amz-Date", stamp.date_time()),
            ("X-Amz-Expires", expires.as_str()),
            ("X-Amz-SignedHeaders", signed_headers.as_str()),
        ];
        if let Some(token) = credentials.session_token() {
            added.push(("X-Amz-Security-Token", token));
        }

        let payload = payload_hash(request.body);
        let canonical =
            self.canonical_request(request, &added, &headers, &signed_headers, &payload);
        let signature = self.sign(&canonical, &stamp, credentials);

        let url = request.uri.to_string();
        let mut presigned = String::with_capacity(url.len() + 512);
        presigned.push_str(&url);
        let mut separator = if request.uri.query().is_some() {
            '&'
        } else {
            '?'
        };
        added.push(("X-Amz-Signature", signature.as_str()));
        for (name, value) in added {
            presigned.push(separator);
            presigned.push_str(name);
            presigned.push('=');
            uri_encode_into(&mut presigned, value);
            separator = '&';
        }
        Ok(presigned)
    }

    /// SigV4's canonical request: the method, the path, the query (with `added` parameters),
    /// the headers (`sorted` by name), their names and the payload's hash, a line each.
    fn canonical_request(
        &self,
        request: &Request<'_>,
        added: &[(&str, &str)],
        sorted: &[(&str, Cow<'_, str>)],
        signed_headers: &str,
        payload: &str,
    ) -> String {
        let mut out = String::with_capacity(1024);
        out.push_str(request.method);
        out.push('\n');
        let path = request.uri.path();
        match self.flavour {
            Flavour::S3 => out.push_str(if path.is_empty() { "/" } else { path }),
            Flavour::Standard => encode_path_into(&mut out, &normalised_path(path)),
        }
        out.push('\n');
        write_query(&mut out, request.uri.query().unwrap_or(""), added);
        out.push('\n');
        write_headers(&mut out, sorted);
        out.push('\n');
        out.push_str(signed_headers);
        out.push('\n');
        out.push_str(payload);
        out
    }

    /// The signing name (`s3`, `dynamodb`).
    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// `<access key id>/<scope>`, as the signature names who signed.
    pub fn credential(&self, access_key_id: &str, stamp: &Stamp) -> String {
        credential(access_key_id, stamp, &self.region, self.service)
    }

    fn write_scope(&self, out: &mut String, stamp: &Stamp) {
        write_scope(out, stamp, &self.region, self.service);
    }

    /// The signature of `canonical` (the canonical request) at `stamp`.
    fn sign(&self, canonical: &str, stamp: &Stamp, credentials: &Credentials) -> String {
        let mut to_sign = String::with_capacity(160);
        to_sign.push_str(ALGORITHM);
        to_sign.push('\n');
        to_sign.push_str(stamp.date_time());
        to_sign.push('\n');
        self.write_scope(&mut to_sign, stamp);
        to_sign.push('\n');
        to_sign.push_str(&hex(&Sha256::digest(canonical.as_bytes())));
        let mut mac = self.day_key(credentials, stamp);
        mac.update(to_sign.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The day's signing key for `credentials`, as an HMAC ready for the string to sign:
    /// derived once a day per credentials (Lambda's rotate every few hours).
    fn day_key(&self, credentials: &Credentials, stamp: &Stamp) -> Hmac<Sha256> {
        let mut cached = self
            .key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let secret = credentials.secret_access_key();
        let fresh = cached.as_ref().is_some_and(|key| {
            key.date == stamp.date
                && key.access_key_id == credentials.access_key_id()
                && key.secret == secret
        });
        if !fresh {
            let key = signing_key(secret, stamp.date(), &self.region, self.service);
            *cached = Some(DayKey {
                date: stamp.date,
                access_key_id: credentials.access_key_id().to_owned(),
                secret: secret.to_owned(),
                mac: Hmac::new_from_slice(&key).expect("HMAC takes a key of any size"),
            });
        }
        cached.as_ref().expect("just derived").mac.clone()
    }
}

/// `<access key id>/<date>/<region>/<service>/aws4_request`: who signed, for which day,
/// region and service (a signature's `Credential`, a presigned URL's or upload form's
/// `x-amz-credential`).
pub fn credential(access_key_id: &str, stamp: &Stamp, region: &str, service: &str) -> String {
    let mut credential = String::with_capacity(access_key_id.len() + 64);
    credential.push_str(access_key_id);
    credential.push('/');
    write_scope(&mut credential, stamp, region, service);
    credential
}

/// The scope: `<date>/<region>/<service>/aws4_request`.
fn write_scope(out: &mut String, stamp: &Stamp, region: &str, service: &str) {
    out.push_str(stamp.date());
    out.push('/');
    out.push_str(region);
    out.push('/');
    out.push_str(service);
    out.push_str("/aws4_request");
}

/// SigV4's signing key for `date` (`YYYYMMDD`): kDate = HMAC("AWS4" + secret, date), then
/// the region, the service and `aws4_request` in turn.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// The signature of `text` with a signing key: HMAC-SHA256 in lower-case hex.
pub fn signature(key: &[u8; 32], text: &[u8]) -> String {
    hex(&hmac(key, text))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// When a request is signed, as SigV4 writes it: `YYYYMMDDTHHMMSSZ` (UTC).
pub struct Stamp {
    date: [u8; 8],
    date_time: [u8; 16],
}

impl Stamp {
    pub fn at(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let (year, month, day) = civil_date(seconds / 86_400);
        let of_day = seconds % 86_400;
        let mut date_time = *b"00000000T000000Z";
        write_digits(&mut date_time[0..4], u64::from(year));
        write_digits(&mut date_time[4..6], u64::from(month));
        write_digits(&mut date_time[6..8], u64::from(day));
        write_digits(&mut date_time[9..11], of_day / 3600);
        write_digits(&mut date_time[11..13], of_day / 60 % 60);
        write_digits(&mut date_time[13..15], of_day % 60);
        let mut date = [0; 8];
        date.copy_from_slice(&date_time[..8]);
        Self { date, date_time }
    }

    /// `YYYYMMDD`.
    pub fn date(&self) -> &str {
        std::str::from_utf8(&self.date).expect("ASCII digits")
    }

    /// `YYYYMMDDTHHMMSSZ`.
    pub fn date_time(&self) -> &str {
        std::str::from_utf8(&self.date_time).expect("ASCII digits and letters")
    }
}

/// `value`'s last `digits.len()` decimal digits, zero-padded.
fn write_digits(digits: &mut [u8], mut value: u64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// The request's headers SigV4 signs, values trimmed, and `host`: not yet sorted.
fn signed_headers_of<'a>(request: &Request<'a>) -> Result<Vec<(&'a str, Cow<'a, str>)>, SignError> {
    let mut headers: Vec<(&str, Cow<'_, str>)> = request
        .headers
        .iter()
        .filter(|(name, _)| !UNSIGNED_HEADERS.contains(name))
        .map(|&(name, value)| (name, trim_all(value)))
        .collect();
    headers.push(("host", Cow::Borrowed(host(request.uri)?)));
    Ok(headers)
}

/// The `host` signed: the URL's host, with its port unless the scheme's default (as hyper
/// sends it).
fn host(uri: &Uri) -> Result<&str, SignError> {
    let authority = uri
        .authority()
        .ok_or_else(|| SignError::NoHost(uri.to_string()))?;
    let default_port = matches!(
        (uri.scheme_str(), authority.port_u16()),
        (Some("http"), Some(80)) | (Some("https"), Some(443))
    );
    Ok(if default_port {
        authority.host()
    } else {
        authority.as_str()
    })
}

fn payload_hash(body: Body<'_>) -> String {
    match body {
        Body::Bytes(bytes) => hex(&Sha256::digest(bytes)),
        Body::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
    }
}

/// The signed header names, `;`-separated, each once.
fn signed_names(sorted: &[(&str, Cow<'_, str>)]) -> String {
    let mut names = String::with_capacity(sorted.len() * 16);
    let mut last = None;
    for (name, _) in sorted {
        if last == Some(*name) {
            continue;
        }
        if last.is_some() {
            names.push(';');
        }
        names.push_str(name);
        last = Some(*name);
    }
    names
}

/// `name:value` lines, the values of a repeated name joined by commas.
fn write_headers(out: &mut String, sorted: &[(&str, Cow<'_, str>)]) {
    let mut last = None;
    for (name, value) in sorted {
        if last == Some(*name) {
            out.push(',');
        } else {
            if last.is_some() {
                out.push('\n');
            }
            out.push_str(name);
            out.push(':');
        }
        out.push_str(value);
        last = Some(*name);
    }
    out.push('\n');
}

/// The canonical query: each parameter of `query` (as sent) and of `added` (not encoded),
/// decoded and encoded again the one SigV4 way, sorted by name and then value.
fn write_query(out: &mut String, query: &str, added: &[(&str, &str)]) {
    if query.is_empty() && added.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencoded(name), reencoded(value))
        })
        .chain(
            added
                .iter()
                .map(|(name, value)| (uri_encode(name), uri_encode(value))),
        )
        .collect();
    pairs.sort();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// A form-encoded query part (`+` a space, `%XX` a byte) in SigV4's encoding.
fn reencoded(part: &str) -> String {
    if part.bytes().all(is_unreserved) {
        return part.to_owned();
    }
    let bytes = part.as_bytes();
    let escape_at = |i: usize| -> Option<u8> {
        let high = hex_value(*bytes.get(i + 1)?)?;
        Some(high << 4 | hex_value(*bytes.get(i + 2)?)?)
    };
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if escape_at(i).is_some() => {
                decoded.extend(escape_at(i));
                i += 3;
                continue;
            }
            b'+' => decoded.push(b' '),
            byte => decoded.push(byte),
        }
        i += 1;
    }
    uri_encode(&String::from_utf8_lossy(&decoded))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The path without `.` and `..` segments or empty ones, as SigV4 normalises it for every
/// service but S3 (RFC 3986's "remove dot segments").
fn normalised_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    let path: Cow<'_, str> = if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    };
    if !(path.contains('.') || path.contains("//")) {
        return path;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut normalised = String::with_capacity(path.len());
    for segment in &segments {
        normalised.push('/');
        normalised.push_str(segment);
    }
    let ends_with_slash = ["/", "/.", "/./", "/..", "/../"]
        .iter()
        .any(|end| path.ends_with(end));
    if normalised.is_empty() || ends_with_slash {
        normalised.push('/');
    }
    Cow::Owned(normalised)
}

/// The path encoded again (its `%` signs too), every byte but the unreserved ones and `/`.
fn encode_path_into(out: &mut String, path: &str) {
    for byte in path.bytes() {
        if byte == b'/' {
            out.push('/');
        } else {
            encode_byte(out, byte);
        }
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

fn encode_byte(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    if is_unreserved(byte) {
        out.push(char::from(byte));
    } else {
        out.push('%');
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
}

/// SigV4's URI encoding: every byte but the unreserved characters (`A-Z a-z 0-9 - _ . ~`) as
/// `%XX`.
pub fn uri_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    uri_encode_into(&mut encoded, text);
    encoded
}

fn uri_encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        encode_byte(out, byte);
    }
}

/// A header value as SigV4 signs it: spaces trimmed at both ends and runs of them made one.
fn trim_all(value: &str) -> Cow<'_, str> {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        return Cow::Borrowed(value);
    }
    let mut trimmed = String::with_capacity(value.len());
    let mut after_space = false;
    for c in value.chars() {
        if c == ' ' && after_space {
            continue;
        }
        after_space = c == ' ';
        trimmed.push(c);
    }
    Cow::Owned(trimmed)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
        SigningSettings, UriPathNormalizationMode, sign,
    };
    use aws_sigv4::sign::v4;
    use proptest::prelude::*;

    use super::*;

    /// AWS's documented example (IAM user guide, "Signature Version 4 signing process":
    /// ListUsers), every step: the signing key, and the signature in headers.
    #[test]
    fn a_request_is_signed_as_awss_documented_example() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let uri: Uri = "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
            .parse()
            .unwrap();
        let request = Request {
            method: "GET",
            uri: &uri,
            headers: &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body: Body::Bytes(b""),
        };
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let headers = Signer::new("iam", "us-east-1", Flavour::Standard)
            .headers(&request, &credentials, time)
            .unwrap();
        assert_eq!(
            headers,
            [
                ("x-amz-date", "20150830T123600Z".to_owned()),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, \
                     Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                        .to_owned()
                )
            ]
        );
    }

    /// The documented signing-key example (AWS General Reference, "Examples of how to derive
    /// a signing key").
    #[test]
    fn the_signing_key_matches_the_documented_example() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn a_stamp_is_the_utc_date_and_time() {
        let at = |seconds| Stamp::at(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0).date_time(), "19700101T000000Z");
        assert_eq!(at(951_825_599).date_time(), "20000229T115959Z");
        assert_eq!(at(4_102_444_800).date_time(), "21000101T000000Z");
        assert_eq!(at(1_764_979_199).date(), "20251205");
    }

    /// One signer for every generated case, as a function keeps one: a key derived for other
    /// credentials or another day must never sign.
    static SIGNERS: LazyLock<[Signer; 2]> = LazyLock::new(|| {
        [
            Signer::new("dynamodb", "eu-north-1", Flavour::Standard),
            Signer::new("s3", "eu-north-1", Flavour::S3),
        ]
    });

    /// What the SDK's signer adds for the same request.
    fn sdk_signature(
        flavour: Flavour,
        request: &Request<'_>,
        credentials: &Credentials,
        time: SystemTime,
        expires_in: Option<Duration>,
    ) -> Vec<(String, String)> {
        let mut settings = SigningSettings::default();
        if flavour == Flavour::S3 {
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            if expires_in.is_none() {
                settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            }
        }
        if let Some(expires_in) = expires_in {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires_in);
        }
        let service = if flavour == Flavour::S3 {
            "s3"
        } else {
            "dynamodb"
        };
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-north-1")
            .name(service)
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let body = match request.body {
            Body::Bytes(bytes) => SignableBody::Bytes(bytes),
            Body::Unsigned => SignableBody::UnsignedPayload,
        };
        let url = request.uri.to_string();
        let signable =
            SignableRequest::new(request.method, &url, request.headers.iter().copied(), body)
                .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let headers = instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()));
        let params = instructions
            .params()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()));
        headers.chain(params).collect()
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_.~-]{1,8}",
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just(String::new()),
            "[a-z]{1,3}(%[0-9A-F]{2}){1,2}",
        ]
    }

    fn query() -> impl Strategy<Value = Vec<(String, String)>> {
        let part = prop_oneof![
            "[a-zA-Z0-9_.~-]{0,8}",
            "[a-z]{0,3}%[0-9A-F]{2}[a-z]{0,3}",
            "[a-z]{1,3}\\+[a-z]{1,3}",
        ];
        proptest::collection::vec((part.clone(), part), 0..4)
    }

    fn header() -> impl Strategy<Value = (String, String)> {
        let name = prop_oneof![
            "x-amz-[a-z]{1,8}",
            Just("content-type".to_owned()),
            Just("range".to_owned()),
            Just("user-agent".to_owned()),
        ];
        (
            name,
            "[ ]{0,2}[a-zA-Z0-9=/;]{1,6}([ ]{1,3}[a-zA-Z0-9]{1,4}){0,2}[ ]{0,2}",
        )
    }

    fn credentials() -> impl Strategy<Value = Credentials> {
        (
            "AKIA[A-Z0-9]{2}",
            "[a-zA-Z0-9/+]{2}",
            proptest::option::of("[a-zA-Z0-9/+=]{4,12}"),
        )
            .prop_map(|(id, secret, token)| Credentials::new(id, secret, token, None, "test"))
    }

    fn url(
        port: Option<u16>,
        https: bool,
        segments: &[String],
        query: &[(String, String)],
    ) -> String {
        let scheme = if https { "https" } else { "http" };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let mut url = format!(
            "{scheme}://example.amazonaws.com{port}/{}",
            segments.join("/")
        );
        for (i, (name, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            if !value.is_empty() {
                url.push('=');
                url.push_str(value);
            }
        }
        url
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn headers_sign_as_the_sdk_signs(
            s3 in any::<bool>(),
            post in any::<bool>(),
            https in any::<bool>(),
            port in proptest::option::of(prop_oneof![Just(80u16), Just(443), 1024..65535u16]),
            segments in proptest::collection::vec(segment(), 0..4),
            query in query(),
            headers in proptest::collection::vec(header(), 0..4),
            body in proptest::collection::vec(any::<u8>(), 0..80),
            credentials in credentials(),
            seconds in 0..4_102_444_800u64,
        ) {
            let flavour = if s3 { Flavour::S3 } else { Flavour::Standard };
            let uri: Uri = url(port, https, &segments, &query).parse().unwrap();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let request = Request {
                method: if post { "POST" } else { "GET" },
                uri: &uri,
                headers: &headers,
                body: Body::Bytes(&body),
            };
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let ours: Vec<(String, String)> = SIGNERS[usize::from(s3)]
                .headers(&request, &credentials, time)
                .unwrap()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
            let mut sdk = sdk_signature(flavour, &request, &credentials, time, None);
            let mut ours_sorted = ours.clone();
            ours_sorted.sort();
            sdk.sort();
            prop_assert_eq!(ours_sorted, sdk, "{}", uri);
        }

        #[test]
        fn a_presigned_url_signs_as_the_sdk_signs(
            segments in proptest::collection::vec(segment(), 1..4),
            query in query(),
            credentials in credentials(),
            seconds in 0..4_102_444_800u64,
            expires in 1..604_800u64,
        ) {
            let uri: Uri = url(None, true, &segments, &query).parse().unwrap();
            let request = Request { method: "GET", uri: &uri, headers: &[], body: Body::Unsigned };
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let expires_in = Duration::from_secs(expires);
            let ours = SIGNERS[1].presign(&request, &credentials, time, expires_in).unwrap();
            let mut sdk = uri.to_string();
            let mut separator = if uri.query().is_some() { '&' } else { '?' };
            for (name, value) in sdk_signature(Flavour::S3, &request, &credentials, time, Some(expires_in)) {
                sdk.push(separator);
                sdk.push_str(&name);
                sdk.push('=');
                sdk.push_str(&uri_encode(&value));
                separator = '&';
            }
            let sorted = |url: &str| {
                let (base, query) = url.split_once('?').unwrap_or((url, ""));
                let mut pairs: Vec<&str> = query.split('&').collect();
                pairs.sort_unstable();
                (base.to_owned(), pairs.join("&"))
            };
            prop_assert_eq!(sorted(&ours), sorted(&sdk));
        }
    }
}

//! Where an object sits in the imports bucket, and so whose it is. The tenant comes only from
//! the key: `imports/<tenant id>/<name>`. A file outside that shape is never imported.

use store::TenantId;

/// Where import files go; the bucket notifies the queue only for this prefix.
pub const IMPORTS_PREFIX: &str = "imports/";
/// Keys longer than S3's own limit cannot come from S3.
const MAX_KEY_BYTES: usize = 1024;

/// An import file's place: its tenant, and the import it was requested for when the name is
/// the one the API handed out (`<import id>.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub tenant: TenantId,
    pub requested_import: Option<String>,
    pub file_name: String,
}

/// Reads an object key (already URL-decoded). Anything that could name another tenant, or no
/// tenant, is refused with the reason, to be recorded.
pub fn locate(key: &str) -> Result<Location, &'static str> {
    if key.len() > MAX_KEY_BYTES || key.chars().any(|c| c.is_control() || c == '\\') {
        return Err("the key has characters an import file's key never has");
    }
    let rest = key
        .strip_prefix(IMPORTS_PREFIX)
        .ok_or("the file is outside the imports/ prefix")?;
    let (tenant, name) = rest
        .split_once('/')
        .ok_or("the file is not under a tenant's prefix (imports/<tenant id>/...)")?;
    let tenant = TenantId::parse(tenant).ok_or("the tenant part of the key is not a tenant id")?;
    // S3 keys are plain strings, but a key with "." or ".." parts reads like a path into
    // another folder to people and tools: never accept one.
    if name.is_empty() || name.split('/').any(|part| matches!(part, "" | "." | "..")) {
        return Err("the key has empty, \".\" or \"..\" parts");
    }
    let file_name = name.rsplit('/').next().unwrap_or(name).to_owned();
    let requested_import = name
        .strip_suffix(".csv")
        .filter(|id| ulid::Ulid::from_string(id).is_ok())
        .map(str::to_owned);
    Ok(Location {
        tenant,
        requested_import,
        file_name,
    })
}

/// Decodes a key as S3 event notifications carry it: URL-encoded, with `+` for a space.
/// Returns `None` for an encoding that does not decode to UTF-8.
pub fn decode_event_key(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = encoded.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_under_a_tenant_prefix_belongs_to_that_tenant() {
        let at = locate("imports/acme/2026/customers.csv").unwrap();
        assert_eq!(at.tenant.as_str(), "acme");
        assert_eq!(at.file_name, "customers.csv");
        assert_eq!(at.requested_import, None);
    }

    #[test]
    fn a_file_named_like_an_upload_url_names_its_import() {
        let at = locate("imports/acme/01JDZ8Q4W6X5V3T2R1P0N9M8K7.csv").unwrap();
        assert_eq!(
            at.requested_import.as_deref(),
            Some("01JDZ8Q4W6X5V3T2R1P0N9M8K7")
        );
    }

    #[test]
    fn keys_that_name_no_tenant_or_try_to_reach_another_are_refused() {
        for key in [
            "customers.csv",
            "reports/acme/x.csv",
            "imports/customers.csv",
            "imports//x.csv",
            "imports/ac me/x.csv",
            "imports/acme#T#globex/x.csv",
            "imports/acme/../globex/x.csv",
            "imports/acme/./x.csv",
            "imports/acme/",
            "imports/acme/a\\..\\globex.csv",
            "imports/acme/x\n.csv",
        ] {
            assert!(locate(key).is_err(), "{key:?} was accepted");
        }
    }

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            decode_event_key("imports/acme/Kunder+%C3%85sa%2B1.csv").as_deref(),
            Some("imports/acme/Kunder Åsa+1.csv")
        );
        assert_eq!(
            decode_event_key("imports/acme/%2E%2E/globex/x.csv").as_deref(),
            Some("imports/acme/../globex/x.csv")
        );
        assert_eq!(decode_event_key("bad%zz"), None);
        assert_eq!(decode_event_key("cut%4"), None);
    }
}

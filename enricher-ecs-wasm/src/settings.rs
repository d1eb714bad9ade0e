//! The ECS module's settings: the shared keys (`fields`, `extraFields`,
//! `parentDomains`) over the ECS fields that carry observables, plus
//! `matchedType` and `occurred`.

use taxiway_enricher_core::lookup::ObservableKind;
use taxiway_enricher_core::settings::{self as shared, Json};
pub use taxiway_enricher_core::settings::{Field, Settings};

/// The ECS fields (ECS 9.x, `generated/csv/fields.csv` of elastic/ecs) whose
/// values are observables a feed lists: the fields Elastic's prebuilt
/// indicator-match rules map to `threat.indicator.*` (`source.ip`,
/// `destination.ip`; `url.full`, `url.original`; `file.hash.*`,
/// `process.hash.*`, `dll.hash.*`; `email.from.address`, `email.sender.address`,
/// `email.to.address`, `email.reply_to.address`), the rest of the ECS fields
/// of the same kinds (the other address fields and their NAT addresses,
/// `dns.*`, the domain fields, `tls.client.server_name`, the referrer, the
/// user e-mail fields, e-mail attachments), and `related.ip`,
/// `related.hosts`, `related.hash`, which ECS fills with every IP, host and
/// hash an event mentions.
///
/// Left out: `*.address` (an IP or a domain, unknown which), `observer.ip`
/// (the reporting device itself), `*.registered_domain` (a parent of a name
/// already looked up, and parent domains match anyway), `*.pe.imphash` (no
/// indicator kind for it), `*.hash.sha384`/`ssdeep`/`tlsh` (likewise),
/// `process.name` (executable names of ordinary programs).
pub const ECS_FIELDS: &[(&str, ObservableKind)] = {
    use ObservableKind::*;
    &[
        ("source.ip", Ip),
        ("source.nat.ip", Ip),
        ("destination.ip", Ip),
        ("destination.nat.ip", Ip),
        ("client.ip", Ip),
        ("client.nat.ip", Ip),
        ("server.ip", Ip),
        ("server.nat.ip", Ip),
        ("host.ip", Ip),
        ("dns.resolved_ip", Ip),
        ("source.domain", Domain),
        ("destination.domain", Domain),
        ("client.domain", Domain),
        ("server.domain", Domain),
        ("dns.question.name", Domain),
        ("url.domain", Domain),
        ("tls.client.server_name", Domain),
        ("url.full", Url),
        ("url.original", Url),
        ("http.request.referrer", Url),
        ("file.hash.md5", Md5),
        ("file.hash.sha1", Sha1),
        ("file.hash.sha256", Sha256),
        ("file.hash.sha512", Sha512),
        ("process.hash.md5", Md5),
        ("process.hash.sha1", Sha1),
        ("process.hash.sha256", Sha256),
        ("process.hash.sha512", Sha512),
        ("dll.hash.md5", Md5),
        ("dll.hash.sha1", Sha1),
        ("dll.hash.sha256", Sha256),
        ("dll.hash.sha512", Sha512),
        ("email.attachments.file.hash.md5", Md5),
        ("email.attachments.file.hash.sha1", Sha1),
        ("email.attachments.file.hash.sha256", Sha256),
        ("email.attachments.file.hash.sha512", Sha512),
        ("file.name", FileName),
        ("email.attachments.file.name", FileName),
        ("email.from.address", Email),
        ("email.sender.address", Email),
        ("email.reply_to.address", Email),
        ("email.to.address", Email),
        ("email.cc.address", Email),
        ("email.bcc.address", Email),
        ("user.email", Email),
        ("user.target.email", Email),
        ("source.user.email", Email),
        ("destination.user.email", Email),
        ("client.user.email", Email),
        ("server.user.email", Email),
        ("related.ip", Ip),
        ("related.hosts", Domain),
        ("related.hash", Hash),
    ]
};

/// `threat.enrichments.matched.type` by default: the ECS example value, and
/// the one Kibana files every enrichment stored on a document under
/// ("indicator match") as opposed to `investigation_time`, those it looks
/// up when an analyst opens the alert.
pub const DEFAULT_MATCHED_TYPE: &str = "indicator_match_rule";

/// Everything the ECS module is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcsSettings {
    pub shared: Settings,
    /// What `matched.type` says.
    pub matched_type: String,
    /// Whether to write `matched.occurred` (when the match was made).
    pub occurred: bool,
}

impl Default for EcsSettings {
    fn default() -> Self {
        EcsSettings {
            shared: Settings::with_fields(ECS_FIELDS),
            matched_type: DEFAULT_MATCHED_TYPE.to_string(),
            occurred: true,
        }
    }
}

/// Parse the settings text `configure` gets (empty or `{}`: the defaults).
pub fn parse(text: &str) -> Result<EcsSettings, String> {
    let mut settings = EcsSettings::default();
    let (mut matched_type, mut occurred) = (None, None);
    let shared = Settings::parse(
        text,
        ECS_FIELDS,
        &["matchedType", "occurred"],
        |key, value: Json| {
            if key == "matchedType" {
                matched_type = Some(shared::string(key, value)?);
            } else {
                occurred = Some(shared::boolean(key, value)?);
            }
            Ok(())
        },
    )?;
    settings.shared = shared;
    if let Some(t) = matched_type {
        settings.matched_type = t;
    }
    if let Some(o) = occurred {
        settings.occurred = o;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_own_keys() {
        assert_eq!(parse("").unwrap(), EcsSettings::default());
        assert_eq!(parse("{}").unwrap(), EcsSettings::default());
        let s = parse(r#"{"matchedType":"enrichment","occurred":false,"parentDomains":false}"#)
            .unwrap();
        assert_eq!(s.matched_type, "enrichment");
        assert!(!s.occurred && !s.shared.parent_domains);
        assert_eq!(s.shared.fields.len(), ECS_FIELDS.len());
        let s = parse(r#"{"extraFields":{"observer.ip":"ip"}}"#).unwrap();
        assert_eq!(s.shared.fields.len(), ECS_FIELDS.len() + 1);
        let s = parse(r#"{"fields":{"source.ip":"ip"}}"#).unwrap();
        assert_eq!(s.shared.fields.len(), 1);
    }

    #[test]
    fn clear_errors() {
        let err = |t| parse(t).unwrap_err();
        assert!(err(r#"{"matchedType":""}"#).contains("non-empty string"));
        assert!(err(r#"{"occurred":"yes"}"#).contains("true or false"));
        assert!(
            err(r#"{"listMatches":1}"#)
                .contains("known: fields, extraFields, parentDomains, matchedType, occurred")
        );
    }

    #[test]
    fn every_default_field_is_an_ecs_path() {
        for (name, _) in ECS_FIELDS {
            assert!(
                name.split('.').all(|s| !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "{name}"
            );
        }
        let mut names: Vec<_> = ECS_FIELDS.iter().map(|f| f.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ECS_FIELDS.len(), "no field twice");
    }
}

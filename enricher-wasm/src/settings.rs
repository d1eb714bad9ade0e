//! The CSE module's settings: the shared keys (`fields`, `extraFields`,
//! `parentDomains`) over Cloud SIEM's match fields.

use taxiway_enricher_core::lookup::ObservableKind;
pub use taxiway_enricher_core::settings::{Field, Settings};

/// CSE's threat-intel match fields: the "Target fields for threat
/// indicators" of Sumo Logic's Cloud SIEM documentation
/// (docs/cse/administration/create-custom-threat-intel-source), plus
/// `http_hostname`, `dns_query` and `file_basename`, which carry the same kinds
/// of value. `file_hash_ssdeep` is left out: a fuzzy hash has no exact match.
pub const CSE_FIELDS: &[(&str, ObservableKind)] = {
    use ObservableKind::*;
    &[
        ("bro_ntlm_domainname", Domain),
        ("bro_ssl_serverName_rootDomain", Domain),
        ("dns_queryDomain", Domain),
        ("dns_replyDomain", Domain),
        ("fromUser_authDomain", Domain),
        ("http_referrerDomain", Domain),
        ("http_url_rootDomain", Domain),
        ("http_url_fqdn", Domain),
        ("http_hostname", Domain),
        ("dns_query", Domain),
        ("email_sender", Email),
        ("fromUser_email", Email),
        ("fromUser_email_raw", Email),
        ("targetUser_email", Email),
        ("targetUser_email_raw", Email),
        ("user_email", Email),
        ("user_email_raw", Email),
        ("file_hash_imphash", Md5),
        ("file_hash_md5", Md5),
        ("file_hash_pehash", Sha1),
        ("file_hash_sha1", Sha1),
        ("file_hash_sha256", Sha256),
        ("file_basename", FileName),
        ("bro_dhcp_assignedIp", Ip),
        ("bro_radius_remoteIp", Ip),
        ("bro_smtp_headers.xOriginatingIp", Ip),
        ("bro_socks_boundIp", Ip),
        ("bro_socks_requestIp", Ip),
        ("device_ip", Ip),
        ("device_natIp", Ip),
        ("dns_replyIp", Ip),
        ("dstDevice_ip", Ip),
        ("dstDevice_natIp", Ip),
        ("srcDevice_ip", Ip),
        ("srcDevice_natIp", Ip),
        ("http_url", Url),
    ]
};

/// The defaults: [`CSE_FIELDS`], parent domains on.
pub fn defaults() -> Settings {
    Settings::with_fields(CSE_FIELDS)
}

/// Parse the settings text `configure` gets (empty or `{}`: the defaults).
pub fn parse(text: &str) -> Result<Settings, String> {
    Settings::parse(text, CSE_FIELDS, &[], |_, _| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse("").unwrap(), defaults());
        assert_eq!(parse(" {} ").unwrap(), defaults());
        let s = parse(r#"{"extraFields":{"clientIp":"ip"}}"#).unwrap();
        assert_eq!(s.fields.len(), CSE_FIELDS.len() + 1);
        assert!(
            parse(r#"{"matchedType":"x"}"#)
                .unwrap_err()
                .contains("unknown setting `matchedType`")
        );
    }
}

//! Module settings: which record fields hold which kind of value, and how to
//! match. They arrive as a JSON object text through `configure`.
//!
//! A tiny JSON reader is enough here and keeps the component small, which
//! keeps compilation (and so hot swap) fast.

use crate::policy::ObservableKind;

/// One record field the enricher looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: ObservableKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub fields: Vec<Field>,
    /// Match `a.b.evil.com` against an indicator `evil.com`.
    pub parent_domains: bool,
}

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

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fields: CSE_FIELDS
                .iter()
                .map(|(name, kind)| Field {
                    name: (*name).to_string(),
                    kind: *kind,
                })
                .collect(),
            parent_domains: true,
        }
    }
}

impl Settings {
    /// Parse settings. Keys: `fields` (object field name -> kind; replaces
    /// the default list), `extraFields` (same shape; added to it),
    /// `parentDomains` (bool). An empty text or `{}` gives the defaults.
    pub fn parse(text: &str) -> Result<Settings, String> {
        let mut settings = Settings::default();
        if text.trim().is_empty() {
            return Ok(settings);
        }
        let value = Parser::new(text).document()?;
        let Json::Object(members) = value else {
            return Err("settings must be a JSON object".into());
        };
        for (key, value) in members {
            match key.as_str() {
                "fields" => settings.fields = fields(&key, value)?,
                "extraFields" => {
                    for field in fields(&key, value)? {
                        settings.fields.retain(|f| f.name != field.name);
                        settings.fields.push(field);
                    }
                }
                "parentDomains" => match value {
                    Json::Bool(b) => settings.parent_domains = b,
                    _ => return Err("`parentDomains` must be true or false".into()),
                },
                other => {
                    return Err(format!(
                        "unknown setting `{other}` (known: fields, extraFields, parentDomains)"
                    ));
                }
            }
        }
        if settings.fields.is_empty() {
            return Err("no fields to match: `fields` is empty".into());
        }
        Ok(settings)
    }
}

fn fields(key: &str, value: Json) -> Result<Vec<Field>, String> {
    let Json::Object(members) = value else {
        return Err(format!(
            "`{key}` must be an object of field name -> kind, e.g. {{\"srcDevice_ip\": \"ip\"}}"
        ));
    };
    members
        .into_iter()
        .map(|(name, kind)| {
            let Json::String(kind) = kind else {
                return Err(format!("`{key}.{name}`: the kind must be a string"));
            };
            let kind = ObservableKind::from_name(&kind).ok_or_else(|| {
                format!(
                    "`{key}.{name}`: unknown kind `{kind}` (known: ip, domain, url, md5, sha1, \
                     sha256, sha512, hash, email, file-name)"
                )
            })?;
            if name.is_empty() {
                return Err(format!("`{key}`: empty field name"));
            }
            Ok(Field { name, kind })
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text: text.as_bytes(),
            pos: 0,
        }
    }

    fn document(&mut self) -> Result<Json, String> {
        let value = self.value(0)?;
        self.ws();
        if self.pos != self.text.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(value)
    }

    fn error(&self, what: &str) -> String {
        format!("invalid settings JSON at byte {}: {what}", self.pos)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 32 {
            return Err(self.error("nested too deeply"));
        }
        self.ws();
        match self.text.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.error("expected `:`"));
                    }
                    let value = self.value(depth + 1)?;
                    if members.iter().any(|(k, _)| *k == key) {
                        return Err(self.error(&format!("duplicate key `{key}`")));
                    }
                    members.push((key, value));
                    self.ws();
                    if self.eat("}") {
                        return Ok(Json::Object(members));
                    }
                    if !self.eat(",") {
                        return Err(self.error("expected `,` or `}`"));
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(",") {
                        return Err(self.error("expected `,` or `]`"));
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') if self.eat("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.text.get(self.pos)
                {
                    self.pos += 1;
                }
                Ok(Json::Number)
            }
            _ => Err(self.error("expected a value")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if !self.eat("\"") {
            return Err(self.error("expected a string"));
        }
        let start = self.pos;
        let mut escaped = false;
        while let Some(&b) = self.text.get(self.pos) {
            match b {
                b'"' => {
                    let raw = &self.text[start..self.pos];
                    self.pos += 1;
                    let mut out = String::new();
                    let ok = if escaped {
                        crate::scan::unescape(raw, &mut out)
                    } else {
                        match core::str::from_utf8(raw) {
                            Ok(s) => {
                                out.push_str(s);
                                true
                            }
                            Err(_) => false,
                        }
                    };
                    return if ok {
                        Ok(out)
                    } else {
                        Err(self.error("bad string escape"))
                    };
                }
                b'\\' => {
                    escaped = true;
                    self.pos += 2;
                }
                _ => self.pos += 1,
            }
        }
        Err(self.error("unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Settings::parse("").unwrap(), Settings::default());
        assert_eq!(Settings::parse(" {} ").unwrap(), Settings::default());
        let s = Settings::parse(r#"{"fields":{"ip":"ip","h":"sha256"},"parentDomains":false}"#)
            .unwrap();
        assert_eq!(s.fields.len(), 2);
        assert_eq!(s.fields[1].kind, ObservableKind::Sha256);
        assert!(!s.parent_domains);
        let s = Settings::parse(r#"{"extraFields":{"clientIp":"ip"}}"#).unwrap();
        assert_eq!(s.fields.len(), CSE_FIELDS.len() + 1);
    }

    #[test]
    fn clear_errors() {
        let err = |t| Settings::parse(t).unwrap_err();
        assert!(err(r#"{"field":{}}"#).contains("unknown setting `field`"));
        assert!(err(r#"{"fields":{"a":"ipv9"}}"#).contains("unknown kind `ipv9`"));
        assert!(err(r#"{"fields":{}}"#).contains("no fields"));
        assert!(err(r#"{"parentDomains":1}"#).contains("true or false"));
        assert!(err(r#"[1]"#).contains("must be a JSON object"));
        assert!(err(r#"{"a":"#).contains("invalid settings JSON"));
        assert!(err(r#"{"a":1,"a":2}"#).contains("duplicate key"));
    }
}

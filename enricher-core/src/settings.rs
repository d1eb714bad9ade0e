//! Module settings: which record fields hold which kind of value, and how to
//! match. They arrive as a JSON object text through `configure`; each module
//! names its default fields and may take keys of its own.
//!
//! A tiny JSON reader is enough here and keeps the components small, which
//! keeps compilation (and so hot swap) fast.

use crate::lookup::ObservableKind;

/// One record field a module looks at: a dotted path (`source.ip`), found
/// whether the record nests it (`{"source":{"ip":..}}`), flattens it
/// (`{"source.ip":..}`) or mixes the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: ObservableKind,
}

/// The settings every module shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub fields: Vec<Field>,
    /// Match `a.b.evil.com` against an indicator `evil.com`.
    pub parent_domains: bool,
}

impl Settings {
    /// `fields` as the field list, parent domains on.
    pub fn with_fields(fields: &[(&str, ObservableKind)]) -> Self {
        Settings {
            fields: fields
                .iter()
                .map(|(name, kind)| Field {
                    name: (*name).to_string(),
                    kind: *kind,
                })
                .collect(),
            parent_domains: true,
        }
    }

    /// Parse settings over `defaults`. Keys: `fields` (object field name ->
    /// kind; replaces the default list), `extraFields` (same shape; added to
    /// it), `parentDomains` (bool), and the module's own `keys`, each handed
    /// to `own`. An empty text or `{}` gives the defaults.
    pub fn parse(
        text: &str,
        defaults: &[(&str, ObservableKind)],
        keys: &[&str],
        mut own: impl FnMut(&str, Json) -> Result<(), String>,
    ) -> Result<Settings, String> {
        let mut settings = Settings::with_fields(defaults);
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
                "parentDomains" => settings.parent_domains = boolean(&key, value)?,
                other if keys.contains(&other) => own(other, value)?,
                other => {
                    let mut known = String::from("fields, extraFields, parentDomains");
                    for key in keys {
                        known.push_str(", ");
                        known.push_str(key);
                    }
                    return Err(format!("unknown setting `{other}` (known: {known})"));
                }
            }
        }
        if settings.fields.is_empty() {
            return Err("no fields to match: `fields` is empty".into());
        }
        if settings.fields.len() >= usize::from(u16::MAX - 16) {
            return Err("too many fields".into());
        }
        Ok(settings)
    }
}

/// A setting that must be `true` or `false`.
pub fn boolean(key: &str, value: Json) -> Result<bool, String> {
    match value {
        Json::Bool(b) => Ok(b),
        _ => Err(format!("`{key}` must be true or false")),
    }
}

/// A setting that must be a non-empty string.
pub fn string(key: &str, value: Json) -> Result<String, String> {
    match value {
        Json::String(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("`{key}` must be a non-empty string")),
    }
}

fn fields(key: &str, value: Json) -> Result<Vec<Field>, String> {
    let Json::Object(members) = value else {
        return Err(format!(
            "`{key}` must be an object of field name -> kind, e.g. {{\"source.ip\": \"ip\"}}"
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
                    "`{key}.{name}`: unknown kind `{kind}` (known: {})",
                    ObservableKind::NAMES
                )
            })?;
            if name.is_empty() || name.split('.').any(str::is_empty) {
                return Err(format!("`{key}`: bad field name `{name}`"));
            }
            Ok(Field { name, kind })
        })
        .collect()
}

/// A settings value. Numbers are not kept: no setting takes one yet.
#[derive(Debug, PartialEq)]
pub enum Json {
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

    const DEFAULTS: &[(&str, ObservableKind)] =
        &[("a.ip", ObservableKind::Ip), ("b", ObservableKind::Domain)];

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::parse(text, DEFAULTS, &["own"], |_, value| match value {
            Json::Null => Ok(()),
            _ => Err("`own` must be null".into()),
        })
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse("").unwrap(), Settings::with_fields(DEFAULTS));
        assert_eq!(parse(" {} ").unwrap(), Settings::with_fields(DEFAULTS));
        let s = parse(r#"{"fields":{"ip":"ip","h":"sha256"},"parentDomains":false,"own":null}"#)
            .unwrap();
        assert_eq!(s.fields.len(), 2);
        assert_eq!(s.fields[1].kind, ObservableKind::Sha256);
        assert!(!s.parent_domains);
        let s = parse(r#"{"extraFields":{"clientIp":"ip","b":"url"}}"#).unwrap();
        assert_eq!(s.fields.len(), DEFAULTS.len() + 1);
        assert_eq!(s.fields.last().unwrap().kind, ObservableKind::Url);
    }

    #[test]
    fn clear_errors() {
        let err = |t| parse(t).unwrap_err();
        assert!(err(r#"{"field":{}}"#).contains("unknown setting `field`"));
        assert!(err(r#"{"field":{}}"#).contains("parentDomains, own)"));
        assert!(err(r#"{"own":1}"#).contains("`own` must be null"));
        assert!(err(r#"{"fields":{"a":"ipv9"}}"#).contains("unknown kind `ipv9`"));
        assert!(err(r#"{"fields":{"a..b":"ip"}}"#).contains("bad field name `a..b`"));
        assert!(err(r#"{"fields":{}}"#).contains("no fields"));
        assert!(err(r#"{"parentDomains":1}"#).contains("true or false"));
        assert!(err(r#"[1]"#).contains("must be a JSON object"));
        assert!(err(r#"{"a":"#).contains("invalid settings JSON"));
        assert!(err(r#"{"a":1,"a":2}"#).contains("duplicate key"));
    }
}

//! `taxiway.toml`: the service's configuration, and the feed settings the
//! HTTP API accepts.
//!
//! The file is read into a small tree that remembers each value's line
//! ([`Node`]); one validator walks it and collects *every* problem (unknown
//! key, wrong type, bad duration, missing field, duplicate feed...) with its
//! line, instead of stopping at the first. Feeds added through the API are
//! JSON, turned into the same tree and checked by the same code, so a feed
//! means the same thing wherever it comes from.
//!
//! Relative paths are resolved against the folder of the config file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use taxiway_poller::IndicatorKind;
use taxiway_poller::client::Secret;

use crate::duration;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub feeds: Vec<FeedConfig>,
    pub enricher: EnricherConfig,
    pub server: ServerConfig,
    pub state: StateConfig,
}

/// One TAXII feed: the seed's "Add Source" fields plus transport settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub name: String,
    pub description: String,
    /// The discovery service URL.
    pub url: String,
    pub poll_interval: Duration,
    /// Validity of indicators without a valid-until, counted from when
    /// taxiway first received them. None: they never expire.
    pub default_ttl: Option<Duration>,
    /// Per-kind overrides of `default_ttl`.
    pub ttl: BTreeMap<IndicatorKind, Duration>,
    /// Empty: every collection the server offers.
    pub collections: Vec<String>,
    pub subscription_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// PKCS#12 client certificate.
    pub certificate: Option<PathBuf>,
    pub certificate_password: Option<SecretRef>,
    /// How far back the first poll of a collection reaches.
    pub max_lookback: Duration,
    pub ca_certificates: Vec<PathBuf>,
    pub proxy: Option<String>,
    /// Connect and read timeout.
    pub timeout: Duration,
    pub enabled: bool,
}

/// Where a secret comes from. Its value is only read when needed.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Value(String),
    File(PathBuf),
    Env(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Value(_) => f.write_str("Value(<redacted>)"),
            SecretRef::File(p) => write!(f, "File({})", p.display()),
            SecretRef::Env(v) => write!(f, "Env({v})"),
        }
    }
}

impl SecretRef {
    /// The secret's value: the file's first line, or the variable's value.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Value(v) => Ok(Secret::new(v.clone())),
            SecretRef::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
                Ok(Secret::new(text.lines().next().unwrap_or("").to_owned()))
            }
            SecretRef::Env(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("environment variable {var} is not set")),
        }
    }

    /// How the secret is given, without its value.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Value(_) => "set".into(),
            SecretRef::File(p) => format!("file {}", p.display()),
            SecretRef::Env(v) => format!("env {v}"),
        }
    }
}

/// What the service enriches with.
#[derive(Debug, Clone, PartialEq)]
pub struct EnricherConfig {
    /// `builtin:<name>`, a component file, or a folder of them.
    pub module: String,
    /// With a folder: the module to serve.
    pub module_name: Option<String>,
    /// Records per call into the module.
    pub batch_size: usize,
    pub deadline: Duration,
    pub max_memory_mib: usize,
    /// Worker threads (0: one per core).
    pub workers: usize,
    /// Module settings, passed to `configure` as JSON.
    pub settings: serde_json::Value,
}

impl Default for EnricherConfig {
    fn default() -> Self {
        EnricherConfig {
            module: "builtin:cse".into(),
            module_name: None,
            batch_size: 1024,
            deadline: Duration::from_secs(2),
            max_memory_mib: 256,
            workers: 0,
            settings: serde_json::Value::Object(Default::default()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub admin_token: SecretRef,
    /// Largest request body, before decompression and after.
    pub max_body_mib: usize,
}

#[derive(Debug, Clone)]
pub struct StateConfig {
    /// Database and uploaded modules.
    pub dir: PathBuf,
    /// How often expired indicators are swept from disk and memory.
    pub sweep_interval: Duration,
}

/// One problem in a configuration, with its line when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Dotted path of the key (`feed[2].poll_interval`).
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Every problem found.
#[derive(Debug, Clone)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A parsed value and the line it starts on.
#[derive(Debug, Clone)]
pub struct Node {
    pub line: Option<usize>,
    pub value: NodeValue,
}

#[derive(Debug, Clone)]
pub enum NodeValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Node>),
    /// Keys keep their own lines.
    Table(Vec<(String, Option<usize>, Node)>),
    /// A TOML date-time, or JSON null.
    Other(&'static str),
}

impl NodeValue {
    fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Str(_) => "a string",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Array(_) => "an array",
            NodeValue::Table(_) => "a table",
            NodeValue::Other(t) => t,
        }
    }
}

impl Node {
    pub fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value;
        let value = match value {
            Value::Null => NodeValue::Other("null"),
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => NodeValue::Str(s.clone()),
            Value::Array(a) => NodeValue::Array(a.iter().map(Node::from_json).collect()),
            Value::Object(o) => NodeValue::Table(
                o.iter()
                    .map(|(k, v)| (k.clone(), None, Node::from_json(v)))
                    .collect(),
            ),
        };
        Node { line: None, value }
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            NodeValue::Table(t) => {
                Value::Object(t.iter().map(|(k, _, v)| (k.clone(), v.to_json())).collect())
            }
            NodeValue::Other(_) => Value::Null,
        }
    }
}

/// Parse TOML into a [`Node`] tree; a syntax error is one problem with its line.
pub fn parse_toml(text: &str) -> Result<Node, Problems> {
    let lines = LineIndex::new(text);
    match toml::de::DeTable::parse(text) {
        Ok(table) => Ok(Node {
            line: Some(lines.line(table.span().start)),
            value: toml_table(table.get_ref(), &lines),
        }),
        Err(e) => Err(Problems(vec![Problem {
            line: e.span().map(|s| lines.line(s.start)),
            key: "(syntax)".into(),
            message: e.message().trim().to_owned(),
        }])),
    }
}

fn toml_table(table: &toml::de::DeTable<'_>, lines: &LineIndex) -> NodeValue {
    NodeValue::Table(
        table
            .iter()
            .map(|(k, v)| {
                (
                    k.get_ref().to_string(),
                    Some(lines.line(k.span().start)),
                    toml_node(v, lines),
                )
            })
            .collect(),
    )
}

fn toml_node(v: &toml::Spanned<toml::de::DeValue<'_>>, lines: &LineIndex) -> Node {
    use toml::de::DeValue;
    let value = match v.get_ref() {
        DeValue::String(s) => NodeValue::Str(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(NodeValue::Int)
            .unwrap_or(NodeValue::Other("an integer out of range")),
        DeValue::Float(f) => f
            .as_str()
            .parse()
            .map(NodeValue::Float)
            .unwrap_or(NodeValue::Other("a number")),
        DeValue::Boolean(b) => NodeValue::Bool(*b),
        DeValue::Datetime(_) => NodeValue::Other("a date-time"),
        DeValue::Array(a) => NodeValue::Array(a.iter().map(|v| toml_node(v, lines)).collect()),
        DeValue::Table(t) => toml_table(t, lines),
    };
    Node {
        line: Some(lines.line(v.span().start)),
        value,
    }
}

struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex(memchr::memchr_iter(b'\n', text.as_bytes()).collect())
    }

    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

/// Read and check a config file.
pub fn load(path: &Path) -> Result<Config, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            line: None,
            key: "(file)".into(),
            message: format!("cannot read {}: {e}", path.display()),
        }])
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &base)
}

/// Check config text; relative paths are taken from `base`.
pub fn parse(text: &str, base: &Path) -> Result<Config, Problems> {
    let root = parse_toml(text)?;
    let mut r = Reader {
        problems: Vec::new(),
        base: base.to_path_buf(),
    };
    let config = r.config(&root);
    match config {
        Some(c) if r.problems.is_empty() => Ok(c),
        _ => Err(Problems(r.problems)),
    }
}

/// Check one feed given as JSON (the API's `POST /v1/feeds`). Relative
/// paths are taken from `base`.
pub fn feed_from_json(value: &serde_json::Value, base: &Path) -> Result<FeedConfig, Problems> {
    let mut r = Reader {
        problems: Vec::new(),
        base: base.to_path_buf(),
    };
    let feed = r.feed(&Node::from_json(value), "feed");
    match feed {
        Some(f) if r.problems.is_empty() => Ok(f),
        _ => Err(Problems(r.problems)),
    }
}

/// The fields of a table, each taken at most once; what is left over is unknown.
struct Fields<'a> {
    path: String,
    line: Option<usize>,
    entries: Vec<(&'a str, Option<usize>, &'a Node, bool)>,
}

impl<'a> Fields<'a> {
    fn take(&mut self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter_mut()
            .find(|(k, _, _, taken)| *k == key && !*taken)
            .map(|e| {
                e.3 = true;
                e.2
            })
    }

    fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

struct Reader {
    problems: Vec<Problem>,
    base: PathBuf,
}

impl Reader {
    fn problem(&mut self, line: Option<usize>, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            key: key.into(),
            message: message.into(),
        });
    }

    fn fields<'a>(&mut self, node: &'a Node, path: &str) -> Option<Fields<'a>> {
        match &node.value {
            NodeValue::Table(t) => Some(Fields {
                path: path.to_owned(),
                line: node.line,
                entries: t
                    .iter()
                    .map(|(k, l, v)| (k.as_str(), *l, v, false))
                    .collect(),
            }),
            other => {
                self.problem(
                    node.line,
                    path,
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// Report what was not taken.
    fn unknown(&mut self, fields: &Fields<'_>, known: &[&str]) {
        for (k, line, _, taken) in &fields.entries {
            if !taken {
                let hint = closest(k, known)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                self.problem(*line, fields.key(k), format!("unknown key{hint}"));
            }
        }
    }

    fn string(&mut self, f: &mut Fields<'_>, key: &str) -> Option<String> {
        let node = f.take(key)?;
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            other => {
                self.problem(
                    node.line,
                    f.key(key),
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn required_string(&mut self, f: &mut Fields<'_>, key: &str) -> Option<String> {
        let value = self.string(f, key);
        if value.is_none() && !self.problems.iter().any(|p| p.key == f.key(key)) {
            self.problem(f.line, f.key(key), "required");
        }
        value
    }

    fn bool(&mut self, f: &mut Fields<'_>, key: &str, default: bool) -> bool {
        let Some(node) = f.take(key) else {
            return default;
        };
        match node.value {
            NodeValue::Bool(b) => b,
            ref other => {
                self.problem(
                    node.line,
                    f.key(key),
                    format!("expected true or false, found {}", other.type_name()),
                );
                default
            }
        }
    }

    fn integer(&mut self, f: &mut Fields<'_>, key: &str, range: (i64, i64), default: i64) -> i64 {
        let Some(node) = f.take(key) else {
            return default;
        };
        match node.value {
            NodeValue::Int(i) if (range.0..=range.1).contains(&i) => i,
            NodeValue::Int(i) => {
                self.problem(
                    node.line,
                    f.key(key),
                    format!("{i} is out of range {}..={}", range.0, range.1),
                );
                default
            }
            ref other => {
                self.problem(
                    node.line,
                    f.key(key),
                    format!("expected an integer, found {}", other.type_name()),
                );
                default
            }
        }
    }

    fn duration_node(&mut self, node: &Node, key: &str, min: Duration) -> Option<Duration> {
        match &node.value {
            NodeValue::Str(s) => match duration::parse(s) {
                Ok(d) if d >= min => Some(d),
                Ok(_) => {
                    self.problem(
                        node.line,
                        key,
                        format!(
                            "`{s}` is shorter than the minimum {}",
                            duration::format(min)
                        ),
                    );
                    None
                }
                Err(e) => {
                    self.problem(node.line, key, e);
                    None
                }
            },
            other => {
                self.problem(
                    node.line,
                    key,
                    format!(
                        "expected a duration string like \"15m\", found {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    fn duration(
        &mut self,
        f: &mut Fields<'_>,
        key: &str,
        min: Duration,
        default: Duration,
    ) -> Duration {
        match f.take(key) {
            Some(node) => self
                .duration_node(node, &f.key(key), min)
                .unwrap_or(default),
            None => default,
        }
    }

    fn strings(&mut self, f: &mut Fields<'_>, key: &str) -> Vec<String> {
        let Some(node) = f.take(key) else {
            return Vec::new();
        };
        let key = f.key(key);
        match &node.value {
            NodeValue::Array(items) => items
                .iter()
                .filter_map(|item| match &item.value {
                    NodeValue::Str(s) => Some(s.clone()),
                    other => {
                        self.problem(
                            item.line,
                            key.clone(),
                            format!("expected strings, found {}", other.type_name()),
                        );
                        None
                    }
                })
                .collect(),
            // The seed's UI takes a comma-separated list.
            NodeValue::Str(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            other => {
                self.problem(
                    node.line,
                    key,
                    format!("expected an array of strings, found {}", other.type_name()),
                );
                Vec::new()
            }
        }
    }

    fn path(&self, text: String) -> PathBuf {
        let p = PathBuf::from(text);
        if p.is_relative() {
            self.base.join(p)
        } else {
            p
        }
    }

    /// `<key>`, `<key>_file` or `<key>_env`: at most one.
    fn secret(&mut self, f: &mut Fields<'_>, key: &str) -> Option<SecretRef> {
        let value = self.string(f, key).map(SecretRef::Value);
        let file = self
            .string(f, &format!("{key}_file"))
            .map(|p| SecretRef::File(self.path(p)));
        let env = self.string(f, &format!("{key}_env")).map(SecretRef::Env);
        let given: Vec<SecretRef> = [value, file, env].into_iter().flatten().collect();
        if given.len() > 1 {
            self.problem(
                f.line,
                f.key(key),
                format!("give only one of `{key}`, `{key}_file` and `{key}_env`"),
            );
        }
        given.into_iter().next()
    }

    fn config(&mut self, root: &Node) -> Option<Config> {
        let mut f = self.fields(root, "")?;
        let feeds = match f.take("feed") {
            None => Vec::new(),
            Some(node) => match &node.value {
                NodeValue::Array(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.feed(item, &format!("feed[{}]", i + 1)))
                    .collect(),
                other => {
                    self.problem(
                        node.line,
                        "feed",
                        format!("expected [[feed]] tables, found {}", other.type_name()),
                    );
                    Vec::new()
                }
            },
        };
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, feed) in feeds.iter().enumerate() {
            if let Some(first) = seen.insert(&feed.name, i) {
                self.problem(
                    None,
                    format!("feed[{}].name", i + 1),
                    format!("`{}` is already the name of feed[{}]", feed.name, first + 1),
                );
            }
        }
        let enricher = match f.take("enricher") {
            Some(node) => self.enricher(node),
            None => Some(EnricherConfig::default()),
        };
        let server = match f.take("server") {
            Some(node) => self.server(node),
            None => {
                self.problem(
                    None,
                    "server",
                    "a [server] table with `admin_token` (or `admin_token_file` / `admin_token_env`) is required",
                );
                None
            }
        };
        let state = match f.take("state") {
            Some(node) => self.state(node),
            None => Some(StateConfig {
                dir: self.base.join("taxiway-state"),
                sweep_interval: DEFAULT_SWEEP,
            }),
        };
        self.unknown(&f, &["feed", "enricher", "server", "state"]);
        Some(Config {
            feeds,
            enricher: enricher?,
            server: server?,
            state: state?,
        })
    }

    fn enricher(&mut self, node: &Node) -> Option<EnricherConfig> {
        let mut f = self.fields(node, "enricher")?;
        let d = EnricherConfig::default();
        let module = match self.string(&mut f, "module") {
            Some(m) if m.starts_with("builtin:") => m,
            Some(m) => self.path(m).to_string_lossy().into_owned(),
            None => d.module,
        };
        let module_name = self.string(&mut f, "module_name");
        let batch_size = self.integer(&mut f, "batch_size", (1, 1_000_000), 1024) as usize;
        let deadline = self.duration(&mut f, "deadline", Duration::from_millis(1), d.deadline);
        let max_memory_mib = self.integer(&mut f, "max_memory_mib", (16, 65_536), 256) as usize;
        let workers = self.integer(&mut f, "workers", (0, 1024), 0) as usize;
        let settings = match f.take("settings") {
            Some(
                node @ Node {
                    value: NodeValue::Table(_),
                    ..
                },
            ) => node.to_json(),
            Some(node) => {
                self.problem(
                    node.line,
                    "enricher.settings",
                    format!("expected a table, found {}", node.value.type_name()),
                );
                d.settings
            }
            None => d.settings,
        };
        self.unknown(
            &f,
            &[
                "module",
                "module_name",
                "batch_size",
                "deadline",
                "max_memory_mib",
                "workers",
                "settings",
            ],
        );
        Some(EnricherConfig {
            module,
            module_name,
            batch_size,
            deadline,
            max_memory_mib,
            workers,
            settings,
        })
    }

    fn server(&mut self, node: &Node) -> Option<ServerConfig> {
        let mut f = self.fields(node, "server")?;
        let listen = self
            .string(&mut f, "listen")
            .unwrap_or_else(|| "127.0.0.1:8750".into());
        if listen.parse::<std::net::SocketAddr>().is_err() {
            let line = f.entries.iter().find(|e| e.0 == "listen").and_then(|e| e.1);
            self.problem(
                line,
                "server.listen",
                format!("`{listen}` is not an address like 127.0.0.1:8750"),
            );
        }
        let admin_token = self.secret(&mut f, "admin_token");
        if admin_token.is_none() {
            self.problem(
                f.line,
                "server.admin_token",
                "required (or `admin_token_file` / `admin_token_env`)",
            );
        }
        if let Some(SecretRef::Value(t)) = &admin_token
            && t.len() < 16
        {
            self.problem(
                f.line,
                "server.admin_token",
                "too short: use at least 16 characters",
            );
        }
        let max_body_mib = self.integer(&mut f, "max_body_mib", (1, 4096), 64) as usize;
        self.unknown(
            &f,
            &[
                "listen",
                "admin_token",
                "admin_token_file",
                "admin_token_env",
                "max_body_mib",
            ],
        );
        Some(ServerConfig {
            listen,
            admin_token: admin_token?,
            max_body_mib,
        })
    }

    fn state(&mut self, node: &Node) -> Option<StateConfig> {
        let mut f = self.fields(node, "state")?;
        let dir = self
            .string(&mut f, "dir")
            .map(|d| self.path(d))
            .unwrap_or_else(|| self.base.join("taxiway-state"));
        let sweep_interval = self.duration(
            &mut f,
            "sweep_interval",
            Duration::from_secs(1),
            DEFAULT_SWEEP,
        );
        self.unknown(&f, &["dir", "sweep_interval"]);
        Some(StateConfig {
            dir,
            sweep_interval,
        })
    }

    fn feed(&mut self, node: &Node, path: &str) -> Option<FeedConfig> {
        let before = self.problems.len();
        let mut f = self.fields(node, path)?;
        let name = self.required_string(&mut f, "name");
        if let Some(name) = &name
            && let Err(e) = check_feed_name(name)
        {
            let line = f.entries.iter().find(|e| e.0 == "name").and_then(|e| e.1);
            self.problem(line, f.key("name"), e);
        }
        let description = self.string(&mut f, "description").unwrap_or_default();
        let url = self.required_string(&mut f, "url");
        if let Some(url) = &url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            let line = f.entries.iter().find(|e| e.0 == "url").and_then(|e| e.1);
            self.problem(
                line,
                f.key("url"),
                format!("`{url}` is not an http:// or https:// discovery URL"),
            );
        }
        let poll_interval = self.duration(
            &mut f,
            "poll_interval",
            Duration::from_secs(1),
            Duration::from_secs(3600),
        );
        let default_ttl = match f.take("default_ttl") {
            Some(Node {
                value: NodeValue::Str(s),
                ..
            }) if s == "never" => None,
            Some(node) => self.duration_node(node, &f.key("default_ttl"), Duration::from_secs(1)),
            None => Some(Duration::from_secs(90 * 86_400)),
        };
        let mut ttl = BTreeMap::new();
        if let Some(node) = f.take("ttl") {
            let key = f.key("ttl");
            if let Some(mut t) = self.fields(node, &key) {
                for (kind_name, line, value, taken) in &mut t.entries {
                    *taken = true;
                    let kinds = kinds_named(kind_name);
                    if kinds.is_empty() {
                        self.problem(
                            *line,
                            format!("{key}.{kind_name}"),
                            "unknown indicator kind (ipv4-addr, ipv6-addr, domain-name, url, email-addr, file:hashes.MD5, ..., file:name, or ipv4, ipv4_cidr, domain, md5, ...)",
                        );
                        continue;
                    }
                    if let Some(d) = self.duration_node(
                        value,
                        &format!("{key}.{kind_name}"),
                        Duration::from_secs(1),
                    ) {
                        for k in kinds {
                            ttl.insert(k, d);
                        }
                    }
                }
            }
        }
        let collections = self.strings(&mut f, "collections");
        let subscription_id = self
            .string(&mut f, "subscription_id")
            .filter(|s| !s.is_empty());
        let username = self.string(&mut f, "username").filter(|s| !s.is_empty());
        let password = self.secret(&mut f, "password");
        if password.is_some() && username.is_none() {
            self.problem(f.line, f.key("password"), "a password needs a `username`");
        }
        let certificate = self.string(&mut f, "certificate").map(|p| self.path(p));
        let certificate_password = self.secret(&mut f, "certificate_password");
        if certificate_password.is_some() && certificate.is_none() {
            self.problem(
                f.line,
                f.key("certificate_password"),
                "a certificate password needs a `certificate`",
            );
        }
        let max_lookback = self.duration(
            &mut f,
            "max_lookback",
            Duration::from_secs(1),
            Duration::from_secs(30 * 86_400),
        );
        let ca_certificates = self
            .strings(&mut f, "ca_certificates")
            .into_iter()
            .map(|p| self.path(p))
            .collect();
        let proxy = self.string(&mut f, "proxy").filter(|s| !s.is_empty());
        let timeout = self.duration(
            &mut f,
            "timeout",
            Duration::from_millis(100),
            Duration::from_secs(60),
        );
        let enabled = self.bool(&mut f, "enabled", true);
        self.unknown(&f, FEED_KEYS);
        if self.problems.len() > before {
            return None;
        }
        Some(FeedConfig {
            name: name?,
            description,
            url: url?,
            poll_interval,
            default_ttl,
            ttl,
            collections,
            subscription_id,
            username,
            password,
            certificate,
            certificate_password,
            max_lookback,
            ca_certificates,
            proxy,
            timeout,
            enabled,
        })
    }
}

const DEFAULT_SWEEP: Duration = Duration::from_secs(600);

/// Every key a feed takes.
pub const FEED_KEYS: &[&str] = &[
    "name",
    "description",
    "url",
    "poll_interval",
    "default_ttl",
    "ttl",
    "collections",
    "subscription_id",
    "username",
    "password",
    "password_file",
    "password_env",
    "certificate",
    "certificate_password",
    "certificate_password_file",
    "certificate_password_env",
    "max_lookback",
    "ca_certificates",
    "proxy",
    "timeout",
    "enabled",
];

/// Feed names appear in URLs, metrics and logs: letters, digits, ` ._-`.
pub fn check_feed_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 100 {
        return Err("must be 1 to 100 characters".into());
    }
    if name.trim() != name {
        return Err("must not start or end with a space".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-')))
    {
        Some(c) => Err(format!(
            "`{c}` is not allowed: use letters, digits, spaces, `.`, `_` and `-`"
        )),
        None => Ok(()),
    }
}

/// The kinds a TTL key names: STIX type names (where `ipv4-addr` covers
/// addresses and networks alike) or taxiway's own kind names.
fn kinds_named(name: &str) -> Vec<IndicatorKind> {
    if let Some(kind) = IndicatorKind::ALL.iter().find(|k| k.as_str() == name) {
        return vec![*kind];
    }
    match IndicatorKind::from_type_name(name) {
        Some(IndicatorKind::Ipv4) => vec![IndicatorKind::Ipv4, IndicatorKind::Ipv4Cidr],
        Some(IndicatorKind::Ipv6) => vec![IndicatorKind::Ipv6, IndicatorKind::Ipv6Cidr],
        Some(kind) => vec![kind],
        None => Vec::new(),
    }
}

/// The known key nearest to a misspelt one, if any is close.
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl FeedConfig {
    /// The TTL for an indicator of `kind` without a valid-until.
    pub fn ttl_for(&self, kind: IndicatorKind) -> Option<Duration> {
        self.ttl.get(&kind).copied().or(self.default_ttl)
    }

    /// The feed as the API shows it: secrets never included, only how they
    /// are given.
    pub fn to_public_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "url": taxiway_poller::client::redact_url(&self.url),
            "poll_interval": duration::format(self.poll_interval),
            "default_ttl": self.default_ttl.map_or("never".to_owned(), duration::format),
            "ttl": self.ttl.iter().map(|(k, d)| (k.as_str().to_owned(), serde_json::Value::String(duration::format(*d)))).collect::<serde_json::Map<_, _>>(),
            "collections": self.collections,
            "subscription_id": self.subscription_id,
            "username": self.username,
            "password": self.password.as_ref().map(SecretRef::describe),
            "certificate": self.certificate,
            "certificate_password": self.certificate_password.as_ref().map(SecretRef::describe),
            "max_lookback": duration::format(self.max_lookback),
            "ca_certificates": self.ca_certificates,
            "proxy": self.proxy.as_deref().map(taxiway_poller::client::redact_url),
            "timeout": duration::format(self.timeout),
            "enabled": self.enabled,
        })
    }
}

#[cfg(test)]
mod tests;

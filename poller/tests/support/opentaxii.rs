//! A real OpenTAXII 0.9.3 on loopback, for the client's acceptance tests.
//!
//! The Python venv (pins from shared/reference/PEERS.md) is built once per machine under
//! `<workspace>/target/opentaxii-venv`, guarded by a file lock so that concurrent test
//! processes wait for one another. Each [`OpenTaxii`] has its own temporary directory
//! (config, sqlite databases, data YAML) and its own gunicorn process group, killed on drop.
//!
//! Services: `/services/discovery`, `/services/collection-management`, `/services/poll`
//! (at most [`PAGE_SIZE`] blocks per part), `/services/inbox`, all requiring authentication.
//! Collections: `ips`, `domains` (DATA_FEED), `files` (DATA_SET), `big`, `extra` (DATA_FEED,
//! the reader may not read `extra`). Accounts: `admin`/`admin-pass` (admin), `reader`/`reader-pass`.
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Content blocks per poll part.
pub const PAGE_SIZE: usize = 2;
pub const READER: (&str, &str) = ("reader", "reader-pass");
pub const ADMIN: (&str, &str) = ("admin", "admin-pass");

const PINS: &[&str] = &[
    "opentaxii==0.9.3",
    "libtaxii==1.1.119",
    "cabby==0.1.23",
    "gunicorn==23.0.0",
    "Flask==3.1.3",
    "Werkzeug==3.1.9",
    "SQLAlchemy==2.1.9",
    "lxml==6.2.0",
    "marshmallow==4.4.0",
    "structlog==26.1.0",
    "PyJWT==2.15.1",
    "stix==1.2.0.11",
    "cybox==2.1.0.21",
    "mixbox==1.0.5",
    "cryptography==50.0.2",
];

const PUSH_PY: &str = include_str!("push.py");

/// TLS files for the HTTPS variant.
pub struct TlsFiles {
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// CA that signed the server certificate and the accepted client certificates.
    pub ca_cert: PathBuf,
    /// A client certificate/key in PEM, for the push script.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub struct OpenTaxii {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    venv: PathBuf,
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

fn python() -> &'static str {
    let ok = Command::new("python3.11")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok { "python3.11" } else { "python3" }
}

/// The venv with OpenTAXII, created on first use.
pub fn venv() -> PathBuf {
    let target = workspace_target();
    fs::create_dir_all(&target).unwrap();
    let venv = target.join("opentaxii-venv");
    let marker = venv.join(".taxiway-pins");
    let wanted = PINS.join("\n");
    let lock = File::create(target.join("opentaxii-venv.lock")).unwrap();
    lock.lock().unwrap();
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let _ = fs::remove_dir_all(&venv);
        let status = Command::new(python())
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv failed");
        let out = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PINS)
            .output()
            .expect("pip install");
        assert!(
            out.status.success(),
            "pip install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        fs::write(&marker, &wanted).unwrap();
    }
    lock.unlock().unwrap();
    venv
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn data_yaml(https: bool) -> String {
    let binding = if https {
        "urn:taxii.mitre.org:protocol:https:1.0"
    } else {
        "urn:taxii.mitre.org:protocol:http:1.0"
    };
    format!(
        r#"services:
  - id: discovery
    type: discovery
    address: /services/discovery
    description: discovery
    advertised_services: [collection-management, poll, inbox]
    authentication_required: yes
    protocol_bindings: ["{binding}"]
  - id: collection-management
    type: collection_management
    address: /services/collection-management
    description: collection management
    authentication_required: yes
    protocol_bindings: ["{binding}"]
  - id: poll
    type: poll
    address: /services/poll
    description: poll
    authentication_required: yes
    subscription_required: no
    max_result_size: {PAGE_SIZE}
    protocol_bindings: ["{binding}"]
  - id: inbox
    type: inbox
    address: /services/inbox
    description: inbox
    authentication_required: yes
    destination_collection_required: yes
    accept_all_content: yes
    protocol_bindings: ["{binding}"]
collections:
  - name: ips
    type: DATA_FEED
    description: IP addresses
    available: true
    accept_all_content: true
    service_ids: [inbox, collection-management, poll]
  - name: domains
    type: DATA_FEED
    description: domains
    available: true
    accept_all_content: true
    service_ids: [inbox, collection-management, poll]
  - name: files
    type: DATA_SET
    description: file hashes
    available: true
    accept_all_content: true
    service_ids: [inbox, collection-management, poll]
  - name: big
    type: DATA_FEED
    description: one big package
    available: true
    accept_all_content: true
    service_ids: [inbox, collection-management, poll]
  - name: extra
    type: DATA_FEED
    description: not readable by the reader
    available: true
    accept_all_content: true
    service_ids: [inbox, collection-management, poll]
accounts:
  - username: {admin}
    password: {admin_pass}
    is_admin: yes
  - username: {reader}
    password: {reader_pass}
    permissions:
      ips: read
      domains: read
      files: read
      big: read
"#,
        admin = ADMIN.0,
        admin_pass = ADMIN.1,
        reader = READER.0,
        reader_pass = READER.1,
    )
}

fn config_yaml(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"domain: "127.0.0.1:{port}"
support_basic_auth: yes
return_server_error_details: yes
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters:
    db_connection: sqlite:///{d}/auth.db
    create_tables: yes
    secret: taxiway-test-secret-not-a-real-one
    token_ttl_secs: 3600
taxii1:
  save_raw_inbox_messages: no
  xml_parser_supports_huge_tree: yes
  count_blocks_in_poll_responses: no
  unauthorized_status: UNAUTHORIZED
  hooks:
  persistence_api:
    class: opentaxii.persistence.sqldb.SQLDatabaseAPI
    parameters:
      db_connection: sqlite:///{d}/data.db
      create_tables: yes
taxii2:
logging:
  opentaxii: warning
  root: warning
"#
    )
}

impl OpenTaxii {
    /// Plain HTTP.
    pub fn start() -> OpenTaxii {
        Self::start_with(None)
    }

    /// HTTPS requiring a client certificate signed by `tls.ca_cert`.
    pub fn start_tls(tls: &TlsFiles) -> OpenTaxii {
        Self::start_with(Some(tls))
    }

    fn start_with(tls: Option<&TlsFiles>) -> OpenTaxii {
        let venv = venv();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        fs::write(dir.path().join("config.yml"), config_yaml(dir.path(), port)).unwrap();
        fs::write(dir.path().join("data.yml"), data_yaml(tls.is_some())).unwrap();
        fs::write(dir.path().join("push.py"), PUSH_PY).unwrap();
        let out = Command::new(venv.join("bin/opentaxii-sync-data"))
            .arg(dir.path().join("data.yml"))
            .env("OPENTAXII_CONFIG", dir.path().join("config.yml"))
            .current_dir(dir.path())
            .output()
            .expect("opentaxii-sync-data");
        assert!(
            out.status.success(),
            "opentaxii-sync-data failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = File::create(dir.path().join("gunicorn.log")).unwrap();
        let mut cmd = Command::new(venv.join("bin/gunicorn"));
        cmd.args(["opentaxii.http:app", "--workers", "1", "--timeout", "300"])
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .env("OPENTAXII_CONFIG", dir.path().join("config.yml"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        if let Some(t) = tls {
            cmd.arg("--certfile")
                .arg(&t.server_cert)
                .arg("--keyfile")
                .arg(&t.server_key)
                .arg("--ca-certs")
                .arg(&t.ca_cert)
                .args(["--cert-reqs", "2"]);
        }
        let child = cmd.spawn().expect("gunicorn");
        let server = OpenTaxii {
            child,
            port,
            dir,
            venv,
            tls: tls.map(|t| {
                (
                    t.client_cert.clone(),
                    t.client_key.clone(),
                    t.ca_cert.clone(),
                )
            }),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "OpenTAXII did not start: {}",
                self.log()
            );
            if self.tls.is_some() {
                // The socket accepts (and queues) as soon as gunicorn binds it.
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    std::thread::sleep(Duration::from_millis(500));
                    return;
                }
            } else if self.health() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn health(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let req = format!(
            "GET /management/health HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("gunicorn.log")).unwrap_or_default()
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme(), self.port)
    }

    pub fn discovery_url(&self) -> String {
        self.url("/services/discovery")
    }

    pub fn poll_url(&self) -> String {
        self.url("/services/poll")
    }

    pub fn collection_management_url(&self) -> String {
        self.url("/services/collection-management")
    }

    /// Pushes packages, each `(collection, [(type, value)])` as one content block, in order.
    /// Each indicator is valid from an hour ago to thirty days ahead.
    pub fn push(&self, packages: &[(&str, Vec<(&str, String)>)]) {
        self.push_with(packages, false)
    }

    /// Like [`OpenTaxii::push`], but the indicators carry no validity window.
    pub fn push_open_ended(&self, packages: &[(&str, Vec<(&str, String)>)]) {
        self.push_with(packages, true)
    }

    fn push_with(&self, packages: &[(&str, Vec<(&str, String)>)], open_ended: bool) {
        let packages: Vec<serde_json::Value> = packages
            .iter()
            .map(|(collection, indicators)| {
                serde_json::json!({
                    "collection": collection,
                    "indicators": indicators.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect::<Vec<_>>(),
                    "open_ended": open_ended,
                })
            })
            .collect();
        let mut spec = serde_json::json!({
            "host": "127.0.0.1",
            "port": self.port,
            "https": self.tls.is_some(),
            "username": ADMIN.0,
            "password": ADMIN.1,
            "packages": packages,
        });
        if let Some((cert, key, ca)) = &self.tls {
            spec["cert"] = cert.display().to_string().into();
            spec["key"] = key.display().to_string().into();
            spec["ca"] = ca.display().to_string().into();
        }
        let spec_path = self.dir.path().join(format!(
            "push-{}.json",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::write(&spec_path, spec.to_string()).unwrap();
        let mut cmd = Command::new(self.venv.join("bin/python"));
        if let Some((_, _, ca)) = &self.tls {
            // cabby hands `verify=True` to requests, which then reads this bundle.
            cmd.env("REQUESTS_CA_BUNDLE", ca);
        }
        let out = cmd
            .arg("-W")
            .arg("ignore")
            .arg(self.dir.path().join("push.py"))
            .arg(&spec_path)
            .output()
            .expect("push.py");
        assert!(
            out.status.success(),
            "push failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for OpenTaxii {
    fn drop(&mut self) {
        let pgid = self.child.id();
        // gunicorn and its worker share the process group created at spawn.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .unwrap();
    f.write_all(content).unwrap();
    path
}

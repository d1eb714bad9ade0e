//! `taxiway serve` as a real process on loopback, and an HTTP client for it.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-admin-token-0123456789";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `taxiway serve`. Killed (SIGKILL) on drop if still running.
pub struct Service {
    pub child: Child,
    pub port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
    agent: ureq::Agent,
}

/// A response: status, headers we care about, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub module: Option<String>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Service {
    /// Start with `config` (a file whose `[server] listen` is on `port`) and
    /// wait until `/healthz` answers.
    pub fn start(config: &Path, port: u16) -> Service {
        let log = config.with_extension(format!(
            "log{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let child = Command::new(env!("CARGO_BIN_EXE_taxiway"))
            .args(["serve", "--log", "info,taxiway=debug", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting taxiway serve");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut service = Service {
            child,
            port,
            config: config.to_path_buf(),
            log,
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!("taxiway serve exited with {status}:\n{}", service.log());
            }
            if let Ok(r) = service.try_get("/healthz", None)
                && r.status == 200
            {
                return service;
            }
            assert!(
                Instant::now() < deadline,
                "taxiway serve did not start:\n{}",
                service.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn try_get(&self, path: &str, token: Option<&str>) -> Result<Reply, ureq::Error> {
        let mut req = self.agent.get(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        reply(req.call()?)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.try_get(path, Some(TOKEN)).unwrap()
    }

    pub fn get_as(&self, path: &str, token: Option<&str>) -> Reply {
        self.try_get(path, token).unwrap()
    }

    pub fn send(&self, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", format!("Bearer {TOKEN}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.to_vec()).unwrap();
        reply(self.agent.run(req).unwrap()).unwrap()
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Reply {
        self.send(
            "POST",
            path,
            body.to_string().as_bytes(),
            &[("Content-Type", "application/json")],
        )
    }

    pub fn enrich(&self, records: &str) -> Reply {
        self.send(
            "POST",
            "/v1/enrich",
            records.as_bytes(),
            &[("Content-Type", "application/x-ndjson")],
        )
    }

    /// Wait until `check` passes on `GET path` (returns the last reply).
    pub fn wait_for(&self, path: &str, what: &str, check: impl Fn(&Reply) -> bool) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.get(path);
            if check(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last {path}: {} {}\n--- log ---\n{}",
                r.status,
                r.body,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Send a signal by the process's own PID.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM (unless it already exited) and wait for the exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        if let Some(status) = self.child.try_wait().unwrap() {
            return status;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "taxiway did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn reply(mut r: ureq::http::Response<ureq::Body>) -> Result<Reply, ureq::Error> {
    let status = r.status().as_u16();
    let module = r
        .headers()
        .get("x-taxiway-module")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = String::new();
    r.body_mut().as_reader().read_to_string(&mut body)?;
    Ok(Reply {
        status,
        body,
        module,
    })
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config file in `dir` listening on a free port; `extra` is appended.
pub fn write_config(dir: &Path, extra: &str) -> (PathBuf, u16) {
    let port = free_port();
    let path = dir.join("taxiway.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_token = \"{TOKEN}\"\n\n[state]\ndir = \"state\"\nsweep_interval = \"1s\"\n\n{extra}"
        ),
    )
    .unwrap();
    (path, port)
}

//! The HTTP API (axum). Every route but `/healthz` and `/readyz` needs
//! `Authorization: Bearer <admin token>`. Errors are JSON:
//! `{"error": {"code": "<stable code>", "message": "..."}}`.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::Service;
use super::feeds::Origin;
use super::pool::BodyError;
use crate::config;
use crate::store::{LookupOptions, ObservableKind, now_micros};

type Svc = State<Arc<Service>>;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(d) = self.details {
            error["problems"] = d;
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

pub fn router(service: Arc<Service>) -> Router {
    let protected = Router::new()
        .route("/v1/enrich", post(enrich))
        .route("/v1/feeds", get(list_feeds).post(add_feed))
        .route(
            "/v1/feeds/{name}",
            get(get_feed).patch(patch_feed).delete(delete_feed),
        )
        .route("/v1/feeds/{name}/poll", post(poll_feed))
        .route("/v1/indicators", get(indicators))
        .route("/v1/modules", get(modules))
        .route("/v1/modules/reload", post(reload_modules))
        .route("/v1/modules/{name}", put(upload_module))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(service.clone(), auth));
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .merge(protected)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        // Handlers read bodies themselves, to answer an oversized one in JSON.
        .layer(DefaultBodyLimit::disable())
        .with_state(service)
}

async fn auth(State(service): Svc, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token)
            if constant_time_eq(token.as_bytes(), service.admin_token().expose().as_bytes()) =>
        {
            next.run(request).await
        }
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong admin token",
        )
        .into_response(),
        None => {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the admin token as `Authorization: Bearer <token>`",
            )
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn readyz(State(service): Svc) -> Response {
    let snapshot = service.store.snapshot();
    let body = json!({
        "ready": !service.is_draining(),
        "indicators": snapshot.len(),
        "module": service.registry.serving().label.to_string(),
    });
    let status = if service.is_draining() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// `POST /v1/enrich`: NDJSON in, NDJSON out, same order, one line per
/// non-blank input line. `Content-Encoding: gzip` is accepted.
async fn enrich(State(service): Svc, headers: HeaderMap, body: Body) -> ApiResult<Response> {
    let max = service.max_body();
    let result = if content_encoding(&headers) == "identity" {
        // Enriched as it arrives.
        service
            .pool
            .enrich_body(body, max)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => too_large(max),
                BodyError::Read(e) => bad_body(e),
            })?
    } else {
        let body = read_body(body, max).await?;
        let body = decode_body(&headers, body, max)?;
        service.pool.enrich(body).await
    };
    service.metrics.enriched(&result.stats, &result.batches);
    let mut response = Response::new(axum::body::Body::new(super::pool::Chunks::new(result.out)));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    for (name, value) in [
        ("x-taxiway-records", result.stats.records),
        ("x-taxiway-tagged", result.stats.tagged),
        ("x-taxiway-errored", result.stats.errored),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
    if let Ok(v) = HeaderValue::from_str(&result.module) {
        h.insert("x-taxiway-module", v);
    }
    Ok(response)
}

async fn read_body(body: Body, max: usize) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, max).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            self::too_large(max)
        } else {
            bad_body(e)
        }
    })
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the body is larger than {} MiB (server.max_body_mib)",
            max >> 20
        ),
    )
}

fn bad_body(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_body",
        format!("reading the body: {e}"),
    )
}

/// The request's Content-Encoding, lowercased; `identity` when there is none.
fn content_encoding(headers: &HeaderMap) -> String {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    if encoding.is_empty() {
        "identity".into()
    } else {
        encoding
    }
}

fn bad_path(e: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text())
}

fn bad_query(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text())
}

fn decode_body(headers: &HeaderMap, body: Bytes, max: usize) -> ApiResult<Bytes> {
    match content_encoding(headers).as_str() {
        "identity" => Ok(body),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_gzip",
                        format!("the gzip body does not decompress: {e}"),
                    )
                })?;
            if out.len() > max {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body decompresses to more than {} MiB", max >> 20),
                ));
            }
            Ok(Bytes::from(out))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding `{other}` is not supported (use gzip or none)"),
        )),
    }
}

fn feed_json(
    service: &Service,
    feed: &config::FeedConfig,
    origin: Origin,
    status: Option<&super::feeds::FeedStatus>,
) -> Value {
    let mut v = feed.to_public_json();
    v["origin"] = json!(origin);
    v["indicators"] = json!(service.state.indicator_count(&feed.name).unwrap_or(0));
    if let Some(s) = status {
        v["status"] = json!(s);
    }
    v
}

async fn list_feeds(State(service): Svc) -> axum::Json<Value> {
    let feeds: Vec<Value> = service
        .feed_list()
        .iter()
        .map(|(f, o, s)| feed_json(&service, f, *o, Some(s)))
        .collect();
    axum::Json(json!({ "feeds": feeds }))
}

async fn get_feed(State(service): Svc, Path(name): Path<String>) -> ApiResult<axum::Json<Value>> {
    let (feed, origin, status) = service
        .feed_list()
        .into_iter()
        .find(|(f, _, _)| f.name == name)
        .ok_or_else(|| feed_not_found(&name))?;
    Ok(axum::Json(feed_json(
        &service,
        &feed,
        origin,
        Some(&status),
    )))
}

fn feed_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "feed_not_found",
        format!("no feed named `{name}`"),
    )
}

fn parse_json(body: &Bytes) -> ApiResult<Value> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "the body must be a JSON object",
        ));
    }
    Ok(v)
}

fn invalid_feed(problems: config::Problems) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_feed",
        problems.to_string(),
    );
    e.details = Some(json!(problems.0));
    e
}

fn state_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "state_error",
        e.to_string(),
    )
}

/// `POST /v1/feeds`: the seed's "Add Source" fields as JSON.
async fn add_feed(State(service): Svc, body: Body) -> ApiResult<Response> {
    let body = read_body(body, service.max_body()).await?;
    let value = parse_json(&body)?;
    let feed = config::feed_from_json(&value, &service.state_dir()).map_err(invalid_feed)?;
    if service.feed(&feed.name).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "feed_exists",
            format!("a feed named `{}` already exists", feed.name),
        ));
    }
    service
        .state
        .save_api_feed(&feed.name, &value.to_string())
        .map_err(state_error)?;
    tracing::info!(feed = %feed.name, "feed added through the API");
    let body = feed_json(&service, &feed, Origin::Api, None);
    service.start_feed(feed, Origin::Api);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// The feed exists and was added through the API (the config file's are
/// changed in the file).
fn require_api_feed(service: &Service, name: &str) -> ApiResult<()> {
    let (_, origin) = service.feed(name).ok_or_else(|| feed_not_found(name))?;
    if origin == Origin::Config {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "feed_in_config_file",
            format!("feed `{name}` is defined in the config file: edit it there and send SIGHUP"),
        ));
    }
    Ok(())
}

/// `PATCH /v1/feeds/{name}`: change some fields of a feed added through the API.
async fn patch_feed(
    State(service): Svc,
    name: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<axum::Json<Value>> {
    let Path(name) = name.map_err(bad_path)?;
    let body = read_body(body, service.max_body()).await?;
    let patch = parse_json(&body)?;
    require_api_feed(&service, &name)?;
    let stored = service
        .state
        .api_feeds()
        .map_err(state_error)?
        .remove(&name)
        .ok_or_else(|| feed_not_found(&name))?;
    let mut value: Value = serde_json::from_str(&stored).map_err(state_error)?;
    for (k, v) in patch.as_object().expect("checked an object") {
        if v.is_null() {
            value
                .as_object_mut()
                .expect("stored as an object")
                .remove(k);
        } else {
            value[k] = v.clone();
        }
    }
    let feed = config::feed_from_json(&value, &service.state_dir()).map_err(invalid_feed)?;
    if feed.name != name {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_feed",
            "a feed cannot be renamed: delete it and add it again",
        ));
    }
    service
        .state
        .save_api_feed(&name, &value.to_string())
        .map_err(state_error)?;
    let body = feed_json(&service, &feed, Origin::Api, None);
    service.start_feed(feed, Origin::Api);
    Ok(axum::Json(body))
}

async fn delete_feed(State(service): Svc, Path(name): Path<String>) -> ApiResult<StatusCode> {
    require_api_feed(&service, &name)?;
    let svc = service.clone();
    tokio::task::spawn_blocking(move || svc.remove_feed(&name))
        .await
        .map_err(state_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct PollQuery {
    #[serde(default)]
    wait: bool,
}

/// `POST /v1/feeds/{name}/poll[?wait=true]`: poll now.
async fn poll_feed(
    State(service): Svc,
    name: Result<Path<String>, PathRejection>,
    q: Result<Query<PollQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Path(name) = name.map_err(bad_path)?;
    let Query(q) = q.map_err(bad_query)?;
    let rx = service
        .poll_now(&name)
        .ok_or_else(|| feed_not_found(&name))?;
    if !q.wait {
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({"feed": name, "poll": "requested"})),
        )
            .into_response());
    }
    let report = rx.await.map_err(|_| {
        ApiError::new(
            StatusCode::CONFLICT,
            "feed_changed",
            "the feed was changed or removed while polling",
        )
    })?;
    Ok(axum::Json(json!(report)).into_response())
}

#[derive(serde::Deserialize)]
struct IndicatorQuery {
    value: Option<String>,
}

/// `GET /v1/indicators?value=...`: every indicator that matches the value
/// now, whatever kind of observable it is.
async fn indicators(
    State(service): Svc,
    Query(q): Query<IndicatorQuery>,
) -> ApiResult<axum::Json<Value>> {
    let value = q.value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_value",
            "give ?value=<observable>",
        )
    })?;
    let value = value.trim();
    let snapshot = service.store.snapshot();
    let now = now_micros();
    let mut kinds = vec![
        ObservableKind::Ip,
        ObservableKind::Hash,
        ObservableKind::FileName,
    ];
    if value.contains("://") {
        kinds.push(ObservableKind::Url);
    } else if value.contains('@') {
        kinds.push(ObservableKind::Email);
    } else {
        kinds.push(ObservableKind::Domain);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut matches = Vec::new();
    for kind in kinds {
        snapshot.lookup(
            kind,
            value,
            LookupOptions {
                parent_domains: true,
            },
            now,
            &mut |m| {
                if !seen.insert(m.entry) {
                    return;
                }
                let e = snapshot.entry(m.entry);
                let until = e.valid_until();
                matches.push(json!({
                    "feed": e.source(),
                    "collection": e.collection(),
                    "id": e.id().to_string(),
                    "kind": e.kind().as_str(),
                    "matched": m.value,
                    "confidence": e.confidence(),
                    "threat_type": e.threat_type(),
                    "description": e.description(),
                    "valid_until": (until != i64::MAX).then(|| rfc3339_micros(until)),
                }));
            },
        );
    }
    Ok(axum::Json(json!({"value": value, "matches": matches})))
}

fn rfc3339_micros(m: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

async fn modules(State(service): Svc) -> axum::Json<Value> {
    let serving = service.registry.serving();
    axum::Json(json!({
        "serving": serving.info,
        "generation": service.registry.generation(),
        "swaps": service.registry.stats.swaps.load(std::sync::atomic::Ordering::Relaxed),
        "rejected": service.registry.stats.rejected.load(std::sync::atomic::Ordering::Relaxed),
        "builtin": crate::registry::builtin_names().map(|n| format!("{}{n}", crate::registry::BUILTIN_PREFIX)).collect::<Vec<_>>(),
        "uploaded": service.uploaded_modules(),
    }))
}

/// `PUT /v1/modules/{name}`: the body is a component. It goes through every
/// load check and serves only if it passes them all.
async fn upload_module(
    State(service): Svc,
    name: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<axum::Json<Value>> {
    let Path(name) = name.map_err(bad_path)?;
    let body = read_body(body, service.max_body()).await?;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_module_name",
            "module names are 1 to 64 letters, digits, `-` and `_`",
        ));
    }
    let svc = service.clone();
    let result = tokio::task::spawn_blocking(move || svc.install_module(&name, &body))
        .await
        .map_err(state_error)?;
    match result {
        Ok(module) => Ok(serving_json(&service, &module)),
        Err(super::InstallError::Rejected(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "module_rejected",
            e.to_string(),
        )),
        Err(e) => Err(state_error(e)),
    }
}

fn serving_json(service: &Service, module: &crate::module::LoadedModule) -> axum::Json<Value> {
    axum::Json(json!({
        "serving": module.info,
        "generation": service.registry.generation(),
    }))
}

async fn reload_modules(State(service): Svc) -> ApiResult<axum::Json<Value>> {
    let svc = service.clone();
    let result = tokio::task::spawn_blocking(move || svc.registry.reload())
        .await
        .map_err(state_error)?;
    match result {
        Ok(module) => Ok(serving_json(&service, &module)),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "module_rejected",
            format!("{e}; the previous module keeps serving"),
        )),
    }
}

async fn metrics(State(service): Svc) -> Response {
    let snapshot = service.store.snapshot();
    let now = now_micros();
    let mut counts: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    for e in snapshot.entries() {
        if e.is_valid_at(now) {
            *counts
                .entry((e.source().to_owned(), e.kind().as_str()))
                .or_default() += 1;
        }
    }
    let r = &service.registry;
    let serving = r.serving();
    let text = service.metrics.render(
        &counts,
        (
            &serving.label,
            r.generation(),
            r.stats.swaps.load(std::sync::atomic::Ordering::Relaxed),
            r.stats.rejected.load(std::sync::atomic::Ordering::Relaxed),
        ),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

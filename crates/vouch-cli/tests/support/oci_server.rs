//! A small OCI 1.1 registry inside the test suite, for what distribution 2.8 lacks: the
//! referrers API (`GET /v2/<name>/referrers/<digest>`, computed from stored manifests'
//! `subject`), and faults a hostile registry could produce (a manifest served with other
//! bytes than its digest). It implements the distribution endpoints vouch's client uses:
//! `/v2/`, manifests (GET/HEAD/PUT by tag or digest), blobs (GET/HEAD), uploads (POST, PATCH,
//! PUT, monolithic or chunked), referrers and tag listing. Memory only, loopback only.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Default)]
pub struct Store {
    blobs: BTreeMap<String, Vec<u8>>,
    /// (repo, digest) → (content type, bytes)
    manifests: BTreeMap<(String, String), (String, Vec<u8>)>,
    tags: BTreeMap<(String, String), String>,
    uploads: BTreeMap<String, Vec<u8>>,
}

#[derive(Default)]
pub struct State {
    store: Mutex<Store>,
    next: AtomicU64,
    /// Serve every manifest with one byte changed (the digest header still claims the
    /// requested digest).
    pub wrong_digest: AtomicBool,
}

pub struct OciServer {
    pub host: String,
    pub state: Arc<State>,
    _thread: std::thread::JoinHandle<()>,
}

impl OciServer {
    pub fn start() -> OciServer {
        let state = Arc::new(State::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let s = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |m: Method, u: Uri, h: HeaderMap, b: Bytes| {
                        let s = s.clone();
                        async move { handle(&s, m, u, h, b) }
                    },
                );
                axum::serve(listener, app).await.unwrap();
            });
        });
        OciServer {
            host,
            state,
            _thread: thread,
        }
    }
}

fn sha256(b: &[u8]) -> String {
    super::oci::sha256(b)
}

fn status(code: StatusCode, body: &str) -> Response {
    (
        code,
        [("content-type", "application/json")],
        format!(r#"{{"errors":[{{"code":"{body}","message":"{body}"}}]}}"#),
    )
        .into_response()
}

fn handle(state: &State, method: Method, uri: Uri, _h: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%3a", ":")))
        .collect();
    if path == "/v2/" || path == "/v2" {
        return (StatusCode::OK, "{}").into_response();
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return status(StatusCode::NOT_FOUND, "NOT_FOUND");
    };
    let mut st = state.store.lock().unwrap();
    for marker in [
        "/manifests/",
        "/blobs/uploads/",
        "/blobs/uploads",
        "/blobs/",
        "/referrers/",
        "/tags/list",
    ] {
        let Some(i) = rest.rfind(marker) else {
            continue;
        };
        let repo = rest[..i].to_string();
        let arg = rest[i + marker.len()..].to_string();
        match (marker, &method) {
            ("/manifests/", &Method::GET | &Method::HEAD) => {
                let digest = if arg.starts_with("sha256:") {
                    arg.clone()
                } else {
                    match st.tags.get(&(repo.clone(), arg.clone())) {
                        Some(d) => d.clone(),
                        None => return status(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"),
                    }
                };
                let Some((ct, bytes)) = st.manifests.get(&(repo.clone(), digest.clone())).cloned()
                else {
                    return status(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
                };
                let mut served = bytes;
                if state.wrong_digest.load(Ordering::SeqCst) {
                    served.push(b' ');
                }
                let len = served.len();
                let body = if method == Method::HEAD {
                    Vec::new()
                } else {
                    served
                };
                return (
                    StatusCode::OK,
                    [
                        ("content-type", ct),
                        ("docker-content-digest", digest),
                        ("content-length", len.to_string()),
                    ],
                    body,
                )
                    .into_response();
            }
            ("/manifests/", &Method::PUT) => {
                let digest = sha256(&body);
                if arg.starts_with("sha256:") && arg != digest {
                    return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
                }
                let ct = _h
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/vnd.oci.image.manifest.v1+json")
                    .to_string();
                let subject = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["subject"]["digest"].as_str().map(str::to_string));
                st.manifests
                    .insert((repo.clone(), digest.clone()), (ct, body.to_vec()));
                if !arg.starts_with("sha256:") {
                    st.tags.insert((repo.clone(), arg.clone()), digest.clone());
                }
                let mut headers = vec![
                    (
                        "location".to_string(),
                        format!("/v2/{repo}/manifests/{digest}"),
                    ),
                    ("docker-content-digest".to_string(), digest),
                ];
                if let Some(s) = subject {
                    headers.push(("oci-subject".to_string(), s));
                }
                let mut r = StatusCode::CREATED.into_response();
                for (k, v) in headers {
                    r.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        v.parse().unwrap(),
                    );
                }
                return r;
            }
            ("/blobs/uploads" | "/blobs/uploads/", &Method::POST) if arg.is_empty() => {
                if let Some(d) = query.get("digest") {
                    if sha256(&body) != *d {
                        return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
                    }
                    st.blobs.insert(d.clone(), body.to_vec());
                    return (
                        StatusCode::CREATED,
                        [("location", format!("/v2/{repo}/blobs/{d}"))],
                    )
                        .into_response();
                }
                let id = state.next.fetch_add(1, Ordering::SeqCst).to_string();
                st.uploads.insert(id.clone(), body.to_vec());
                return (
                    StatusCode::ACCEPTED,
                    [
                        ("location", format!("/v2/{repo}/blobs/uploads/{id}")),
                        ("range", "0-0".to_string()),
                        ("docker-upload-uuid", id),
                    ],
                )
                    .into_response();
            }
            ("/blobs/uploads/", &Method::PATCH) => {
                let Some(buf) = st.uploads.get_mut(&arg) else {
                    return status(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
                };
                buf.extend_from_slice(&body);
                let end = buf.len().saturating_sub(1);
                return (
                    StatusCode::ACCEPTED,
                    [
                        ("location", format!("/v2/{repo}/blobs/uploads/{arg}")),
                        ("range", format!("0-{end}")),
                    ],
                )
                    .into_response();
            }
            ("/blobs/uploads/", &Method::PUT) => {
                let Some(mut buf) = st.uploads.remove(&arg) else {
                    return status(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
                };
                buf.extend_from_slice(&body);
                let Some(d) = query.get("digest") else {
                    return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
                };
                if sha256(&buf) != *d {
                    return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
                }
                st.blobs.insert(d.clone(), buf);
                return (
                    StatusCode::CREATED,
                    [
                        ("location", format!("/v2/{repo}/blobs/{d}")),
                        ("docker-content-digest", d.clone()),
                    ],
                )
                    .into_response();
            }
            ("/blobs/", &Method::GET | &Method::HEAD) => {
                let Some(b) = st.blobs.get(&arg).cloned() else {
                    return status(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
                };
                let len = b.len();
                let body = if method == Method::HEAD {
                    Vec::new()
                } else {
                    b
                };
                return (
                    StatusCode::OK,
                    [
                        ("content-type", "application/octet-stream".to_string()),
                        ("docker-content-digest", arg),
                        ("content-length", len.to_string()),
                    ],
                    body,
                )
                    .into_response();
            }
            ("/referrers/", &Method::GET) => {
                let wanted = query.get("artifactType").cloned();
                let mut manifests = Vec::new();
                for ((r, d), (ct, bytes)) in &st.manifests {
                    if *r != repo {
                        continue;
                    }
                    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                        continue;
                    };
                    if v["subject"]["digest"].as_str() != Some(arg.as_str()) {
                        continue;
                    }
                    let at = v["artifactType"]
                        .as_str()
                        .or(v["config"]["mediaType"].as_str())
                        .unwrap_or("")
                        .to_string();
                    if wanted.as_ref().is_some_and(|w| *w != at) {
                        continue;
                    }
                    let mut e = serde_json::json!({"mediaType": ct, "digest": d, "size": bytes.len(), "artifactType": at});
                    if let Some(a) = v.get("annotations") {
                        e["annotations"] = a.clone();
                    }
                    manifests.push(e);
                }
                let index = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": manifests
                });
                return (
                    StatusCode::OK,
                    [("content-type", "application/vnd.oci.image.index.v1+json")],
                    serde_json::to_vec(&index).unwrap(),
                )
                    .into_response();
            }
            ("/tags/list", &Method::GET) => {
                let tags: Vec<&String> = st
                    .tags
                    .keys()
                    .filter(|(r, _)| *r == repo)
                    .map(|(_, t)| t)
                    .collect();
                return (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    serde_json::to_vec(&serde_json::json!({"name": repo, "tags": tags})).unwrap(),
                )
                    .into_response();
            }
            _ => {}
        }
    }
    status(StatusCode::NOT_FOUND, "NOT_FOUND")
}

//! Refreshing the trusted root through a TUF repository (Sigstore publishes its trust roots
//! this way): `vouch trust update`. Never needed for verification, which reads files.
//!
//! The TUF client is `tough` (root rotation chain, timestamp → snapshot → targets,
//! signature thresholds, expiry, rollback and length/hash checks of every target). vouch
//! gives it only a transport: `file://` URLs are read from disk, `http(s)://` URLs fetched
//! with `curl`, the same way `vouch db update` fetches, so the binary carries no HTTP stack;
//! `--offline` refuses anything but `file://`.

use std::path::Path;
use std::process::Command;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use tough::{
    FilesystemTransport, RepositoryLoader, TargetName, Transport, TransportError,
    TransportErrorKind, TransportStream,
};
use url::Url;

/// Reads `file://` from disk and fetches `http(s)://` with curl (or refuses it, offline).
#[derive(Debug, Clone, Copy)]
pub struct CurlTransport {
    /// Refuse every non-`file://` URL.
    pub offline: bool,
}

#[async_trait]
impl Transport for CurlTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        match url.scheme() {
            "file" => FilesystemTransport.fetch(url).await,
            "http" | "https" if !self.offline => curl(url),
            "http" | "https" => Err(TransportError::new_with_cause(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
                "--offline: no network access",
            )),
            _ => Err(TransportError::new_with_cause(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
                "only file://, http:// and https:// are supported",
            )),
        }
    }
}

/// TUF metadata and targets are small (the trusted root is a few KiB): fetched whole.
fn curl(url: Url) -> Result<TransportStream, TransportError> {
    let out = Command::new("curl")
        .args(["-sS", "-L", "--max-time", "60", "-w", "\n%{http_code}"])
        .arg(url.as_str())
        .output()
        .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, url.clone(), e))?;
    let mut body = out.stdout;
    let code_at = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(body.get(code_at + 1..).unwrap_or_default()).to_string();
    body.truncate(code_at);
    if !out.status.success() {
        return Err(TransportError::new_with_cause(
            TransportErrorKind::Other,
            url,
            format!(
                "curl failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    match code.trim() {
        "200" => {
            let stream =
                futures_util::stream::iter([Ok::<_, TransportError>(bytes::Bytes::from(body))]);
            Ok(Box::pin(stream))
        }
        "404" | "403" => Err(TransportError::new_with_cause(
            TransportErrorKind::FileNotFound,
            url,
            format!("HTTP {code}"),
        )),
        other => Err(TransportError::new_with_cause(
            TransportErrorKind::Other,
            url,
            format!("HTTP {other}"),
        )),
    }
}

/// What an update verified: the requested targets the repository lists (others are skipped),
/// and the newest root metadata, to start from next time.
pub struct Fetched {
    pub targets: Vec<(String, Vec<u8>)>,
    pub latest_root: Vec<u8>,
}

/// Loads the repository from `root` (a TUF root.json the caller trusts), verifies all
/// metadata, and returns the requested targets.
pub fn fetch_targets(
    tuf_root: &[u8],
    metadata_url: &str,
    targets_url: &str,
    datastore: &Path,
    names: &[&str],
    offline: bool,
) -> Result<Fetched, String> {
    let parse = |u: &str| {
        let with_slash = if u.ends_with('/') {
            u.to_string()
        } else {
            format!("{u}/")
        };
        Url::parse(&with_slash).map_err(|e| format!("`{u}` is not a URL: {e}"))
    };
    let (meta, targets) = (parse(metadata_url)?, parse(targets_url)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let repo = RepositoryLoader::new(&tuf_root, meta, targets)
            .transport(CurlTransport { offline })
            .datastore(datastore)
            .load()
            .await
            .map_err(|e| format!("the TUF repository does not verify: {e}"))?;
        let mut out = Vec::new();
        for name in names {
            let target = TargetName::new(*name).map_err(|e| e.to_string())?;
            let Some(mut stream) = repo
                .read_target(&target)
                .await
                .map_err(|e| format!("{name}: {e}"))?
            else {
                continue;
            };
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(|e| format!("{name}: {e}"))?);
            }
            out.push(((*name).to_string(), bytes));
        }
        let latest_root = serde_json::to_vec_pretty(repo.root())
            .map_err(|e| format!("cannot encode the root metadata: {e}"))?;
        Ok(Fetched {
            targets: out,
            latest_root,
        })
    })
}

//! A read-only [`TileStore`] over plain HTTP (`http://host:port/prefix`), so `vouch log
//! monitor` and `vouch log witness` can follow a log served by `vouch log serve` or any
//! static server. Plain HTTP/1.1 over `std::net`, no TLS: put a TLS-terminating proxy in
//! front or follow a local mirror for `https://` logs (documented limit).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::store::TileStore;

/// Largest object accepted (a full tile is 8 KiB; an entry bundle at most ~16 MiB).
const MAX_BODY: u64 = 32 << 20;

#[derive(Debug, Clone)]
pub struct HttpStore {
    host: String,
    prefix: String,
}

impl HttpStore {
    /// `http://host[:port][/prefix]`
    pub fn new(url: &str) -> io::Result<Self> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "only http:// URLs are supported",
            )
        })?;
        let (host, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if host.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "URL has no host",
            ));
        }
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(HttpStore {
            host,
            prefix: prefix.to_string(),
        })
    }
}

impl TileStore for HttpStore {
    fn get(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let mut s = TcpStream::connect(&self.host)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_write_timeout(Some(Duration::from_secs(30)))?;
        write!(
            s,
            "GET {}/{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: vouch\r\n\r\n",
            self.prefix, self.host
        )?;
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status)?;
        let code: u16 = status
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut len: Option<u64> = None;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().ok();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        match code {
            200 => {}
            404 => return Ok(None),
            c => return Err(io::Error::other(format!("GET {path}: HTTP status {c}"))),
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut line = String::new();
                r.read_line(&mut line)?;
                let n = u64::from_str_radix(line.trim(), 16)
                    .map_err(|_| io::Error::other("bad chunk"))?;
                if n == 0 || body.len() as u64 + n > MAX_BODY {
                    break;
                }
                (&mut r).take(n).read_to_end(&mut body)?;
                let mut crlf = [0u8; 2];
                r.read_exact(&mut crlf)?;
            }
        } else {
            (&mut r)
                .take(len.unwrap_or(MAX_BODY).min(MAX_BODY))
                .read_to_end(&mut body)?;
            if len.is_some_and(|l| l != body.len() as u64) {
                return Err(io::Error::other(format!("GET {path}: truncated response")));
            }
        }
        Ok(Some(body))
    }

    fn put(&self, _: &str, _: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "an HTTP log is read-only",
        ))
    }

    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

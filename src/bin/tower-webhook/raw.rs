//! Raw HTTP/1.1 requests: written by `sign --http`, read by `verify` (as
//! captured by a proxy, `nc -l` or `sign --http`).

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::error::CliError;

/// The most headers a captured request may have.
const MAX_HEADERS: usize = 128;

/// `request` as it goes on the wire: the request line with the target in
/// origin form, `Host` from the URI (unless set), the headers,
/// `Content-Length`, an empty line and the body.
pub fn write(request: &Request<Bytes>) -> Vec<u8> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = format!("{} {target} HTTP/1.1\r\n", request.method()).into_bytes();
    if let (Some(authority), false) = (
        uri.authority(),
        request.headers().contains_key(http::header::HOST),
    ) {
        out.extend_from_slice(format!("host: {authority}\r\n").as_bytes());
    }
    for (name, value) in request.headers() {
        if name == http::header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", request.body().len()).as_bytes());
    out.extend_from_slice(request.body());
    out
}

/// A request parsed from `input`, and a note when its bytes and its
/// `Content-Length` disagree in a way the parser tolerates.
pub struct Parsed {
    /// The request: the URI as the request line has it (origin form, as a
    /// server sees it).
    pub request: Request<Bytes>,
    /// What was tolerated (trailing bytes after the body).
    pub note: Option<String>,
}

/// Reads one HTTP/1.1 request: request line, headers, and a body framed
/// by `Content-Length`, `Transfer-Encoding: chunked`, or the end of the
/// input.
pub fn parse(input: &[u8]) -> Result<Parsed, CliError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(CliError::Request(
                "ends before its head does: a request line and headers, then an empty line, \
                 are needed (the input is empty or cut short)"
                    .to_owned(),
            ));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(CliError::Request(format!(
                "has more than {MAX_HEADERS} headers"
            )));
        }
        Err(e) => {
            return Err(CliError::Request(format!(
                "is not HTTP/1.1: {e} (give the raw request as sent: request line, headers, \
                 an empty line, the body)"
            )));
        }
    };
    let method = req.method.unwrap_or("POST");
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|e| CliError::Request(format!("method {method:?}: {e}")))?;
    let target = req.path.unwrap_or("/");
    let uri: Uri = target
        .parse()
        .map_err(|e| CliError::Request(format!("target {target:?}: {e}")))?;
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .version(match req.version {
            Some(0) => Version::HTTP_10,
            _ => Version::HTTP_11,
        });
    let mut length = None;
    let mut chunked = false;
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|e| CliError::Request(format!("header name {:?}: {e}", h.name)))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|e| CliError::Request(format!("`{name}` header: {e}")))?;
        if name == http::header::CONTENT_LENGTH {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    CliError::Request("has a `content-length` that is not a number".to_owned())
                })?;
            length = Some(n);
        }
        if name == http::header::TRANSFER_ENCODING {
            chunked = h.value.eq_ignore_ascii_case(b"chunked");
        }
        builder = builder.header(name, value);
    }
    let rest = &input[head_len..];
    let (body, note) = if chunked {
        (dechunk(rest)?, None)
    } else {
        match length {
            Some(n) if rest.len() < n => {
                return Err(CliError::Request(format!(
                    "body is {} bytes, but its `content-length` says {n}: the capture is cut short",
                    rest.len()
                )));
            }
            Some(n) if rest.len() > n => (
                rest[..n].to_vec(),
                Some(format!(
                    "{} bytes after the body's {n} (`content-length`) are ignored",
                    rest.len() - n
                )),
            ),
            _ => (rest.to_vec(), None),
        }
    };
    let request = builder
        .body(Bytes::from(body))
        .map_err(|e| CliError::Request(format!("cannot be built: {e}")))?;
    Ok(Parsed { request, note })
}

/// The body of a `Transfer-Encoding: chunked` message.
fn dechunk(mut input: &[u8]) -> Result<Vec<u8>, CliError> {
    let bad = |what: &str| CliError::Request(format!("has a malformed chunked body: {what}"));
    let mut body = Vec::new();
    loop {
        let line_end = input
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("a chunk size line without CRLF"))?;
        let line = std::str::from_utf8(&input[..line_end]).map_err(|_| bad("a chunk size"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("a chunk size"))?;
        input = &input[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if input.len() < size + 2 || &input[size..size + 2] != b"\r\n" {
            return Err(bad("a chunk shorter than its size"));
        }
        body.extend_from_slice(&input[..size]);
        input = &input[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_requests_parse_back() {
        let request = Request::post("http://example.com:8080/hook?a=1")
            .header("x-sig", "v1,abc")
            .body(Bytes::from_static(b"{\"a\":1}"))
            .unwrap();
        let parsed = parse(&write(&request)).unwrap();
        assert!(parsed.note.is_none());
        let r = parsed.request;
        assert_eq!(r.uri(), "/hook?a=1");
        assert_eq!(r.headers()["host"], "example.com:8080");
        assert_eq!(r.headers()["x-sig"], "v1,abc");
        assert_eq!(r.body().as_ref(), b"{\"a\":1}");
    }

    #[test]
    fn chunked_and_framing_errors() {
        let chunked = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse(chunked).unwrap().request.body().as_ref(), b"abcde");
        let short = b"POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc";
        let e = parse(short).err().unwrap().to_string();
        assert!(e.contains("cut short"), "{e}");
        let long = b"POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc\n";
        let p = parse(long).unwrap();
        assert_eq!(p.request.body().as_ref(), b"abc");
        assert!(p.note.is_some());
        let lf = b"POST /x HTTP/1.1\nheader: v\n\nbody";
        assert_eq!(parse(lf).unwrap().request.body().as_ref(), b"body");
        assert!(parse(b"").is_err());
        assert!(parse(b"garbage\r\n\r\n").is_err());
    }
}

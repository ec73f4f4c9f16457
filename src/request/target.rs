//! Where a request goes: its method and absolute URL (scheme, authority, path and query), or
//! an origin-form target and a `Host`, checked as they are read.

use super::Request;
use super::fields::is_token;
use super::limits::{MAX_TARGET_BYTES, RequestError};

impl Request {
    /// A request for `method` on an absolute URL such as `https://api.example.com/v1/x?y=1`.
    pub fn new(method: &str, url: &str) -> Result<Request, RequestError> {
        let mut req = Request::default();
        req.start(method, url)?;
        Ok(req)
    }

    /// Resets the request and starts it again with `method` and an absolute `url`.
    pub(crate) fn start(&mut self, method: &str, url: &str) -> Result<(), RequestError> {
        if !is_token(method) {
            return Err(RequestError::new(
                None,
                format!("{method:?} is not an HTTP method token"),
            ));
        }
        let b = url.as_bytes();
        let colon = b.iter().position(|&c| c == b':');
        let (scheme, rest) = match colon {
            Some(i) if b[i + 1..].starts_with(b"//") => (&url[..i], &url[i + 3..]),
            // The URL itself is not repeated: it may carry credentials.
            _ => {
                return Err(RequestError::new(
                    None,
                    "the URL is not absolute (expected scheme://authority/path)",
                ));
            }
        };
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !scheme_ok {
            return Err(RequestError::new(
                Some(0),
                format!("URL scheme {scheme:?} is invalid"),
            ));
        }
        let rest = match rest.bytes().position(|c| c == b'#') {
            Some(i) => &rest[..i],
            None => rest,
        };
        let auth_end = rest
            .bytes()
            .position(|c| c == b'/' || c == b'?')
            .unwrap_or(rest.len());
        let (authority, target) = rest.split_at(auth_end);
        if authority.contains('@') {
            return Err(RequestError::new(
                None,
                "the URL must not carry user information (user:password@)",
            ));
        }
        if authority.is_empty() || authority.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(RequestError::new(
                None,
                format!("URL authority {authority:?} is invalid"),
            ));
        }
        self.begin(method, scheme, authority);
        self.set_target(target);
        let path_len = target.find('?').unwrap_or(target.len());
        if path_len > 0 {
            let start = scheme.len() + 3 + auth_end;
            self.url_path = Some((start as u32, (start + path_len) as u32));
        }
        Ok(())
    }

    pub(crate) fn empty(method: &str, scheme: &str, authority: &str) -> Request {
        let mut r = Request::blank();
        r.begin(method, scheme, authority);
        r
    }
    /// Resets the request to `method`, `scheme` (lower-cased) and `authority`, path `/`.
    fn begin(&mut self, method: &str, scheme: &str, authority: &str) {
        self.reset();
        self.method = self.push_text(method);
        self.scheme = self.push_text(scheme);
        let (a, b) = self.scheme;
        self.text[a as usize..b as usize].make_ascii_lowercase();
        self.authority = self.push_text(authority);
        self.path = self.push_text("/");
    }

    /// Sets the authority (the `Host` of an origin-form request).
    pub(crate) fn set_authority(&mut self, authority: &str) {
        self.authority = self.push_text(authority);
    }

    /// Sets path and query from an origin-form target (`/path?query`).
    pub(crate) fn set_target(&mut self, target: &str) {
        if target.len() > MAX_TARGET_BYTES {
            self.defects
                .push(format!("request target exceeds {MAX_TARGET_BYTES} bytes"));
        }
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        self.path = if path.is_empty() {
            self.push_text("/")
        } else {
            self.push_text(path)
        };
        self.query = query.map(|q| self.push_text(q));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_urls() {
        let r = Request::new("GET", "HTTPS://api.example.com:8443/v1/x?y=1&z#frag").unwrap();
        assert_eq!(r.scheme(), "https");
        assert_eq!(r.authority(), "api.example.com:8443");
        assert_eq!(r.path(), "/v1/x");
        assert_eq!(r.query(), Some("y=1&z"));
        let url = "HTTPS://api.example.com:8443/v1/x?y=1&z#frag";
        let (a, b) = r.url_path.unwrap();
        assert_eq!(&url[a as usize..b as usize], "/v1/x");
        let r = Request::new("GET", "https://h?q").unwrap();
        assert_eq!((r.path(), r.query()), ("/", Some("q")));
        assert_eq!(r.url_path, None);
        assert!(Request::new("GET", "/relative").is_err());
        assert!(Request::new("GE T", "https://h/").is_err());
        let e = Request::new("GET", "https://user:hunter2@h/").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{e}");
        let e = Request::new("GET", "/relative?token=s3cret").unwrap_err();
        assert!(!e.message.contains("s3cret"), "{e}");
    }
}

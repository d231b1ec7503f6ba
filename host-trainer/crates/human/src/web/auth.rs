//! The session token: random, printed once with the URL, required on every
//! request except the embedded static assets (public code, no data). A
//! request a browser sent from a page of another origin is refused too, token
//! or not: the token travels in the page's URL, and a URL can leak (history,
//! a pasted link); a leaked token must still not let another site's page
//! decide or read anything.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Header that carries the token on API calls.
pub const HEADER: &str = "x-sonomask-token";

/// A 256-bit random session token, hex-encoded.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A fresh token from the operating system's random source.
    pub fn random() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A fixed token (tests).
    pub fn fixed(s: &str) -> Self {
        Self(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares without an early exit, so response timing does not tell how
    /// much of a guess was right.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let mut diff = u8::from(a.len() != b.len());
        for (i, &x) in a.iter().enumerate() {
            diff |= x ^ b.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The token of a request: the header, else the `token` query parameter.
fn given(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(HEADER) {
        return Some(v.to_str().unwrap_or("").to_string());
    }
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "token").then(|| v.to_string())
    })
}

/// Whether the request comes from this server's own page, or not from a
/// page at all. Browsers send `Origin` on every POST and every cross-origin
/// call, and it cannot be forged by page scripts; it must then be
/// `http://` + the `Host` the request was sent to. No `Origin` (a same-origin
/// GET, an `<img>`, curl, the tests' client) is not a cross-origin call.
fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match (
        origin.to_str().ok().and_then(|o| o.strip_prefix("http://")),
        host,
    ) {
        (Some(o), Some(h)) => o.eq_ignore_ascii_case(h),
        _ => false,
    }
}

/// Middleware: 401 without a token, 403 with a wrong one or from a page of
/// another origin.
pub async fn require(State(token): State<Arc<Token>>, req: Request, next: Next) -> Response {
    if !same_origin(&req) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin request: only the page this server serves may call it",
        )
        .into_response();
    }
    match given(&req) {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session token required: open the URL that `sonomask review`/`annotate` printed",
        )
        .into_response(),
        Some(t) if !token.matches(&t) => {
            ApiError::new(StatusCode::FORBIDDEN, "wrong session token").into_response()
        }
        Some(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compare_exactly() {
        let a = Token::random().unwrap();
        let b = Token::random().unwrap();
        assert_eq!(a.as_str().len(), 64);
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(&a.as_str()[..63]));
        assert!(!a.matches(&format!("{}0", a.as_str())));
        assert!(!a.matches(""));
    }
}

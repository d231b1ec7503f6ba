//! The session token: random, printed once with the URL, required on every
//! request except the embedded static assets (public code, no data).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
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

/// Middleware: 401 without a token, 403 with a wrong one.
pub async fn require(State(token): State<Arc<Token>>, req: Request, next: Next) -> Response {
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

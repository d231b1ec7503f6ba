//! The pages' HTML, JavaScript and CSS, embedded in the binary at compile
//! time: no build step, no CDN, nothing read from disk at run time. Static
//! files are looked up by exact name in [`STATIC`]; any other name is a 404.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The review page (`sonomask review`).
pub const REVIEW_HTML: &str = include_str!("assets/review.html");
/// The drawing page (`sonomask annotate`).
pub const ANNOTATE_HTML: &str = include_str!("assets/annotate.html");

/// Every file under `/static/`: name, content type, body.
pub const STATIC: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/common.js"),
    ),
    (
        "review.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/review.js"),
    ),
    (
        "annotate.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/annotate.js"),
    ),
];

/// Headers every page and asset carries: no framing by other sites, no
/// guessing of content types, no resources from anywhere but this server.
pub fn hardened(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `GET /static/{name}`.
pub async fn serve_static(Path(name): Path<String>) -> Response {
    match STATIC.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => hardened(
            (
                [
                    (header::CONTENT_TYPE, *ctype),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                *body,
            )
                .into_response(),
        ),
        None => super::ApiError::new(StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// A page's HTML response.
pub fn page(html: &'static str) -> Response {
    hardened(
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
    )
}

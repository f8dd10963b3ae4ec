//! The replies of the status page's server: a whole document or a stream
//! of chunks, never cached.

use std::convert::Infallible;

use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// A reply body: a whole document, or the chunks of a list.
pub type Body = BoxBody<Bytes, Infallible>;

/// A reply with a whole body.
pub fn reply(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    with_body(status, kind, Full::new(body.into()).boxed())
}

/// A reply with `body`.
pub fn with_body(status: StatusCode, kind: &'static str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

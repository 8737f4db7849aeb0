//! The static files, compiled into the binary and served with long cache
//! headers (URLs carry a content hash, `?v=…`, so a new build busts caches).

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "bootstrap.min.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/bootstrap.min.css"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/app.js"),
    },
];

/// A short hash of every asset, for cache-busting URLs.
pub fn version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        // FNV-1a over all assets.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for a in &ASSETS {
            for b in a.body {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{:012x}", h & 0xffff_ffff_ffff)
    })
}

/// `GET /static/{name}`.
#[get("/static/{name}")]
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == name.as_str()) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.body),
        None => HttpResponse::NotFound().finish(),
    }
}

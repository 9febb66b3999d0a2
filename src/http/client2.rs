//! The official WebSDK and its demo pages under `/client2/`, as WCS serves them, so the pages'
//! relative paths (`../../../../flashphoner.js`) resolve and they talk to this server.

use actix_web::{web, HttpResponse};
use std::path::Path;

pub const DEMO_PAGE: &str = "/client2/examples/demo/streaming/two_way_streaming/two_way_streaming.html";

pub fn service(dir: &Path) -> actix_web::Scope {
    let scope = web::scope("/client2");
    if dir.join("flashphoner.js").is_file() {
        scope.service(actix_files::Files::new("", dir).index_file("index.html").show_files_listing())
    } else {
        let message = format!(
            "The WebSDK is not installed at {}: run scripts/setup.sh, or set web.client2_dir.\n",
            dir.display()
        );
        scope.default_service(web::to(move || {
            let message = message.clone();
            async move { HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body(message) }
        }))
    }
}

/// `GET /`: where to go from here.
pub async fn index() -> HttpResponse {
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ferrophone</title></head><body>\
         <h1>ferrophone</h1><ul>\
         <li><a href=\"{DEMO_PAGE}\">Two-way streaming demo (WebSDK)</a></li>\
         <li><a href=\"/client2/examples/demo/\">All WebSDK demo pages</a></li>\
         <li><a href=\"/rest-api/connection/find_all\">Connected sessions</a></li>\
         <li><a href=\"/health\">Health</a> &middot; <a href=\"/metrics\">Metrics</a></li>\
         </ul></body></html>"
    );
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page)
}

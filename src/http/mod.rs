//! The HTTP port (8081/8444): REST, `/metrics`, `/health` and the WebSDK demo pages.

mod client2;
pub use client2::DEMO_PAGE;
mod cors;
mod health;
mod prometheus;

use crate::app_state::AppState;
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use std::path::Path;

pub fn app(
    state: AppState,
    client2_dir: &Path,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // Where the WebSDK's recording page downloads a recording (`recordName` of its stream).
    let records = actix_files::Files::new("/client/records", &state.media.record.dir);
    App::new()
        .app_data(web::Data::new(state))
        .wrap(from_fn(cors::cors))
        .service(crate::rest::scope())
        .route("/health", web::get().to(health::health))
        .route("/metrics", web::get().to(prometheus::metrics))
        .route("/", web::get().to(client2::index))
        .service(records)
        .service(client2::service(client2_dir))
}

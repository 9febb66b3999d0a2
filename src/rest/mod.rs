//! The REST API under `/rest-api` (rest-api.md): JSON in and out, GET and POST on every method,
//! string-typed values accepted, errors as JSON with a message.

mod body;
mod call;
mod connection;
mod error;
mod push;
mod recorder;
mod stream;

pub use error::RestError;

use actix_web::{web, HttpRequest, HttpResponse};

pub fn scope() -> actix_web::Scope {
    let scope = web::scope("/rest-api");
    let scope = get_and_post(scope, "/connection/find_all", connection::find_all);
    let scope = get_and_post(scope, "/connection/find", connection::find);
    let scope = get_and_post(scope, "/connection/terminate", connection::terminate);
    let scope = get_and_post(scope, "/stream/find_all", stream::find_all);
    let scope = get_and_post(scope, "/stream/find", stream::find);
    let scope = get_and_post(scope, "/stream/terminate", stream::terminate);
    let scope = get_and_post(scope, "/stream/startRecording", recorder::startup);
    let scope = get_and_post(scope, "/stream/stopRecording", recorder::terminate);
    let scope = get_and_post(scope, "/recorder/startup", recorder::startup);
    let scope = get_and_post(scope, "/recorder/terminate", recorder::terminate);
    let scope = get_and_post(scope, "/recorder/find_all", recorder::find_all);
    let scope = get_and_post(scope, "/call/startup", call::startup);
    let scope = get_and_post(scope, "/call/find", call::find);
    let scope = get_and_post(scope, "/call/find_all", call::find_all);
    let scope = get_and_post(scope, "/call/terminate", call::terminate);
    let scope = get_and_post(scope, "/call/send_dtmf", call::send_dtmf);
    let scope = get_and_post(scope, "/push/startup", push::startup);
    let scope = get_and_post(scope, "/push/find", push::find);
    let scope = get_and_post(scope, "/push/find_all", push::find_all);
    let scope = get_and_post(scope, "/push/terminate", push::terminate);
    let scope = get_and_post(scope, "/push/mute", push::mute);
    let scope = get_and_post(scope, "/push/unmute", push::unmute);
    let scope = get_and_post(scope, "/push/sound_on", push::sound_on);
    let scope = get_and_post(scope, "/push/sound_off", push::sound_off);
    scope.default_service(web::to(unknown_method))
}

/// The SDK's REST helper sends GET when it has no body, POST otherwise: every method takes both.
fn get_and_post<F, Args>(scope: actix_web::Scope, path: &str, handler: F) -> actix_web::Scope
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    scope.route(path, web::get().to(handler.clone())).route(path, web::post().to(handler))
}

async fn unknown_method(req: HttpRequest) -> Result<HttpResponse, RestError> {
    Err(RestError::not_found(format!("Unknown REST method {} {}", req.method(), req.path())))
}

/// 200 with a JSON body.
fn json_ok(value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json;charset=UTF-8")
        .body(serde_json::to_string(value).expect("REST bodies always serialize"))
}

/// 200 with an empty body: WCS methods documented as `void`, which the demo pages expect.
fn void_ok() -> HttpResponse {
    HttpResponse::Ok().finish()
}

//! The HTTP layer: actix-web handlers. Handlers parse input, call the
//! service layer and render; they hold no business rules.

pub mod error;
pub mod health;
pub mod pages;
pub mod templates;

pub use error::AppError;

use actix_web::web;

use crate::store::Pool;

/// Registers every route; shared by `serve` and the HTTP tests.
pub fn configure(pool: Pool, tera: web::Data<tera::Tera>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(pool))
            .app_data(tera)
            .service(health::healthz)
            .service(pages::index);
    }
}

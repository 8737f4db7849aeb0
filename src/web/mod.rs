//! The HTTP layer: actix-web handlers. Handlers parse input, call the
//! service layer and render; they hold no business rules.
//!
//! Every route is registered by [`configure`] inside one scope wrapped by
//! [`ops::around`], which gives each request an id and a tracing span,
//! measures it, and sets the security headers (a strict CSP among them).

pub mod admin;
pub mod api;
pub mod approve;
pub mod assets;
pub mod auth;
pub mod changes;
pub mod client_addr;
pub mod error;
pub mod error_text;
pub mod extract;
pub mod health;
pub mod i18n;
pub mod input;
pub mod live;
pub mod metrics;
pub mod new_ticket;
pub mod ops;
pub mod page_text;
pub mod pages;
pub mod picker;
pub mod redirect;
pub mod render;
pub mod session;
pub mod templates;
pub mod throttle;
pub mod view;
pub mod why_not;

pub use error::AppError;

use actix_web::web;
use tera::Tera;

use crate::config::Config;
use crate::service::{DbConn, Pool};

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub pool: Pool,
    /// Admits as many [`AppState::db`] calls at once as the pool has
    /// connections, first come first served (see there).
    pub db_gate: tokio::sync::Semaphore,
    /// The templates.
    pub tera: Tera,
    /// Session and API token signing.
    pub keys: session::Keys,
    /// Hours a session (and an API JWT) lasts.
    pub session_hours: u32,
    /// Whether cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Sign-in throttle.
    pub limiter: throttle::LoginThrottle,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub proxies: client_addr::TrustedProxies,
    /// HTTP figures for `/metrics`.
    pub metrics: metrics::Metrics,
    /// The message catalogues.
    pub i18n: i18n::Catalogues,
    /// The part of the catalogues each page template uses.
    pub page_text: page_text::PageCatalogues,
    /// Wakes the job workers after a change that enqueued a job.
    pub waker: crate::jobs::Waker,
    /// Slipway's data directory (snapshot repositories); `None` in tests
    /// that do not need it.
    pub data_dir: Option<std::path::PathBuf>,
    /// SVN access for the path picker; `None` when not configured.
    pub svn: Option<crate::vcs::svn_access::SvnAccess>,
    /// Who reads which project (`auth.visibility`).
    pub visibility: crate::service::Visibility,
    /// Directory sign-in (`[auth.ldap]`); `None`: local accounts only.
    pub directory: Option<std::sync::Arc<crate::service::directory::Directory>>,
}

impl AppState {
    /// The state for `serve`: signing key from the config or `<data_dir>/jwt.key`.
    pub fn from_config(pool: Pool, config: &Config) -> Result<Self, String> {
        let secret = session::signing_key(config)?;
        let secure = config.public_url().starts_with("https://");
        let mut state = Self::new(pool, &secret, config.auth.session_hours, secure)?;
        state.data_dir = Some(config.data_dir.clone());
        state.svn = Some(crate::vcs::svn_access::SvnAccess::from_config(config));
        state.visibility = config.auth.visibility;
        if let Some(ldap) = &config.auth.ldap {
            state.directory = Some(std::sync::Arc::new(crate::service::directory::Directory::new(ldap)?));
        }
        state.proxies =
            client_addr::TrustedProxies::parse(&config.server.trusted_proxies).map_err(|e| e.to_string())?;
        Ok(state)
    }

    /// A state with an explicit key (tests).
    pub fn new(pool: Pool, secret: &[u8], session_hours: u32, secure_cookies: bool) -> Result<Self, String> {
        let i18n = i18n::Catalogues::load().map_err(|e| format!("message catalogue: {e}"))?;
        Ok(Self {
            db_gate: tokio::sync::Semaphore::new(pool.max_size() as usize),
            pool,
            tera: templates::load().map_err(|e| format!("templates: {e:?}"))?,
            page_text: page_text::PageCatalogues::new(&i18n, &templates::TEMPLATES),
            keys: session::Keys::new(secret),
            session_hours: session_hours.max(1),
            secure_cookies,
            limiter: throttle::LoginThrottle::default(),
            proxies: client_addr::TrustedProxies::default(),
            metrics: metrics::Metrics::new().map_err(|e| format!("metrics: {e}"))?,
            i18n,
            waker: crate::jobs::Waker::new(),
            data_dir: None,
            svn: None,
            visibility: crate::service::Visibility::default(),
            directory: None,
        })
    }

    /// `user` reading under this site's visibility rule.
    pub fn reader(&self, user: crate::service::rows::UserRow) -> crate::service::Reader {
        crate::service::Reader::new(user, self.visibility)
    }

    /// Like [`AppState::db`] for calls that change tickets: on success it
    /// wakes the workers, so a job the change enqueued starts at once.
    pub async fn db_then_wake<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let out = self.db(f).await?;
        self.waker.wake();
        Ok(out)
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        // Callers queue here, in order and without holding a thread. Left to
        // r2d2, every waiter holds a blocking thread and they wake in no
        // particular order: under load that was the pages' slow tail.
        let _admitted = self
            .db_gate
            .acquire()
            .await
            .map_err(|e| AppError::Internal(format!("database gate: {e}")))?;
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Internal(format!("database pool: {e}")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
    }
}

/// Registers every route; shared by `serve` and the HTTP tests.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state.pool.clone()))
            .app_data(state)
            .app_data(error::json_config())
            .app_data(error::form_config())
            .app_data(error::query_config())
            .app_data(error::path_config())
            // Bodies up to 1 MiB reach the handlers, which refuse more than 256 KiB with a 400.
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .service(
                web::scope("")
                    .wrap(actix_web::middleware::from_fn(ops::around))
                    .service(health::healthz)
                    .service(ops::readyz)
                    .service(metrics::scrape)
                    .service(assets::asset)
                    .configure(api::routes)
                    .configure(auth::routes)
                    .configure(pages::routes)
                    .configure(picker::routes)
                    .configure(admin::routes)
                    .configure(live::routes)
                    .configure(approve::routes)
                    .default_service(web::to(pages::not_found)),
            );
    }
}

//! Waking workers when a job is enqueued: an in-process signal, plus, on
//! PostgreSQL, a thread that LISTENs for `NOTIFY slipway_jobs` so workers in
//! other processes wake too. Polling remains the backstop.

use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use tokio::sync::Notify;

use crate::store::jobs::NOTIFY_CHANNEL;

/// A cloneable wake-up signal.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    /// A new signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes every waiting worker (and the next one to wait, if none waits).
    pub fn wake(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }

    /// Waits for the next wake-up.
    pub async fn wait(&self) {
        self.0.notified().await;
    }

    /// Starts a thread that wakes this signal on every PostgreSQL
    /// notification on the jobs channel; it reconnects when the connection
    /// drops, and ends with the process.
    pub fn listen_postgres(&self, url: String) {
        let waker = self.clone();
        let spawned = std::thread::Builder::new()
            .name("slipway-listen".into())
            .spawn(move || loop {
                match PgConnection::establish(&url) {
                    Ok(mut conn) => {
                        if diesel::sql_query(format!("LISTEN {NOTIFY_CHANNEL}"))
                            .execute(&mut conn)
                            .is_ok()
                        {
                            listen_until_broken(&mut conn, &waker);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "job notifications: cannot connect; retrying"),
                }
                std::thread::sleep(Duration::from_secs(5));
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "job notifications: cannot start the listener; polling only");
        }
    }
}

fn listen_until_broken(conn: &mut PgConnection, waker: &Waker) {
    loop {
        let mut woke = false;
        for notification in conn.notifications_iter() {
            match notification {
                Ok(_) => woke = true,
                Err(error) => {
                    tracing::warn!(%error, "job notifications: connection lost");
                    return;
                }
            }
        }
        if woke {
            waker.wake();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

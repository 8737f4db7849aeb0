//! The ticket as pages and the API show it, with "files that will change on
//! production" ([`crate::service::changes`]): the database reads with a
//! pooled connection, then git on the blocking pool without one.

use actix_web::web;
use chrono::Utc;

use crate::service::changes;
use crate::service::Reader;

use super::view::TicketDetail;
use super::{AppError, AppState};

/// Ticket `id` as `reader` sees it, with its production diff.
pub async fn ticket_detail(state: &AppState, reader: Reader, id: i64) -> Result<TicketDetail, AppError> {
    let want_diff = state.data_dir.is_some();
    let mut facts = state
        .db(move |conn| Ok(changes::ticket_facts(conn, id, &reader, Utc::now(), want_diff)?))
        .await?;
    let production = match (state.data_dir.clone(), facts.diff.take()) {
        (Some(dir), Some(inputs)) => {
            let view = facts.view.clone();
            web::block(move || changes::production_changes(&dir, &view, inputs))
                .await
                .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
        }
        _ => None,
    };
    Ok(TicketDetail::new(facts, production))
}

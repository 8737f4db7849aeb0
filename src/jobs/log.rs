//! A job's output, written to `job_logs` in small batches so the ticket page
//! can follow it live without a database write per line.

use std::time::{Duration, Instant};

use crate::store::models::NewJobLog;
use crate::store::{jobs, timestamp_now, Pool};

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// A program's standard output.
    Stdout,
    /// A program's standard error.
    Stderr,
    /// Slipway's own progress lines.
    Info,
}

impl From<crate::vcs::Stream> for LogStream {
    fn from(stream: crate::vcs::Stream) -> Self {
        match stream {
            crate::vcs::Stream::Stdout => LogStream::Stdout,
            crate::vcs::Stream::Stderr => LogStream::Stderr,
        }
    }
}

impl LogStream {
    fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
            LogStream::Info => "info",
        }
    }
}

/// Buffers lines and flushes them every `FLUSH_EVERY` or `FLUSH_LINES`.
pub struct JobLog {
    pool: Pool,
    job_id: i64,
    ticket_id: Option<i64>,
    buffer: Vec<NewJobLog>,
    last_flush: Instant,
}

const FLUSH_EVERY: Duration = Duration::from_millis(250);
const FLUSH_LINES: usize = 200;
/// Longest stored line; longer ones are cut (with a marker).
const MAX_LINE: usize = 4000;

impl JobLog {
    /// A log for `job_id` (and its ticket).
    pub fn new(pool: Pool, job_id: i64, ticket_id: Option<i64>) -> Self {
        Self {
            pool,
            job_id,
            ticket_id,
            buffer: Vec::new(),
            last_flush: Instant::now(),
        }
    }

    /// Records one line.
    pub fn line(&mut self, stream: LogStream, text: &str) {
        let text = crate::process::scrub_known(text);
        let mut line: String = text.chars().filter(|c| !c.is_control() || *c == '\t').collect();
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" […]");
        }
        self.buffer.push(NewJobLog {
            job_id: self.job_id,
            ticket_id: self.ticket_id,
            stream: stream.as_str().to_owned(),
            line,
            created_at: timestamp_now(),
        });
        if self.buffer.len() >= FLUSH_LINES || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }

    /// Records one of Slipway's own progress lines.
    pub fn info(&mut self, text: &str) {
        let text = crate::process::scrub_known(text);
        tracing::info!(job = self.job_id, "{text}");
        self.line(LogStream::Info, &text);
    }

    /// Writes buffered lines now. A failed write is logged, not fatal: the
    /// job's effect matters more than its transcript.
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return;
        }
        let written = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| jobs::append_logs(&mut conn, &self.buffer).map_err(|e| e.to_string()));
        match written {
            Ok(()) => self.buffer.clear(),
            Err(error) => {
                tracing::warn!(job = self.job_id, %error, "could not store job output; will retry");
                if self.buffer.len() > 10 * FLUSH_LINES {
                    self.buffer.drain(..FLUSH_LINES);
                }
            }
        }
    }
}

impl Drop for JobLog {
    fn drop(&mut self) {
        self.flush();
    }
}

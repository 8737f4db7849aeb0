//! Reading a child's stdout and stderr as lines, each capped at
//! [`MAX_LINE_BYTES`]: a build that prints gigabytes without a newline costs
//! at most one capped line of memory, the rest of that line is dropped and
//! the line ends with a marker saying how much was cut.
//!
//! One reader thread per stream sends lines over a bounded channel, so a
//! caller that stores lines slowly makes the child wait on its pipe instead
//! of queueing output in memory.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use super::Stream;

/// Longest line kept from a child's output, in bytes; the rest of a longer
/// line is dropped (see [`cut_marker`]).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Lines waiting for the caller before the readers (and so the child) block.
const CHANNEL_LINES: usize = 256;

/// What a reader thread sends.
pub(super) enum Message {
    /// One line (without its ending) and how many bytes of it were dropped.
    Line(Stream, Vec<u8>, u64),
    /// The stream reached its end.
    Eof,
}

/// The text appended to a line of which `dropped` bytes were cut.
pub fn cut_marker(dropped: u64) -> String {
    format!(" […line cut: {dropped} more bytes dropped]")
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes and
/// dropping the rest up to the newline. Returns the bytes read from `reader`
/// (0 at end of file) and the bytes dropped.
pub(super) fn read_capped_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<(u64, u64)> {
    buf.clear();
    let (mut read, mut dropped) = (0u64, 0u64);
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((read, dropped));
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let keep = take.min(max.saturating_sub(buf.len()));
        buf.extend_from_slice(&available[..keep]);
        dropped += (take - keep) as u64;
        read += take as u64;
        reader.consume(take);
        if done {
            // The newline itself is not content: do not count it as dropped.
            if buf.last() == Some(&b'\n') {
                buf.pop();
            } else {
                dropped = dropped.saturating_sub(1);
            }
            return Ok((read, dropped));
        }
    }
}

/// A channel for the reader threads of one child.
pub(super) fn channel() -> (SyncSender<Message>, Receiver<Message>) {
    mpsc::sync_channel(CHANNEL_LINES)
}

/// Starts a thread reading `source` line by line into `tx`.
pub(super) fn spawn_reader(stream: Stream, source: impl Read + Send + 'static, tx: SyncSender<Message>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            match read_capped_line(&mut reader, &mut buf, MAX_LINE_BYTES) {
                Ok((0, _)) | Err(_) => break,
                Ok((_, dropped)) => {
                    if tx
                        .send(Message::Line(stream, std::mem::take(&mut buf), dropped))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Message::Eof);
    });
}

/// The text of a line: trailing `\r` removed, invalid UTF-8 replaced by
/// U+FFFD, the cut marker appended when bytes were dropped.
pub(super) fn decode(mut bytes: Vec<u8>, dropped: u64) -> String {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    let mut text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if dropped > 0 {
        text.push_str(&cut_marker(dropped));
    }
    text
}

/// Delivers lines until both readers reported end of file, the deadline
/// passed or the cancel flag was set.
pub(super) fn read_until_eof(
    rx: &Receiver<Message>,
    open_streams: &mut usize,
    deadline: Option<Instant>,
    cancel: Option<&AtomicBool>,
    deliver: &mut dyn FnMut(Stream, Vec<u8>, u64),
) -> Stop {
    while *open_streams > 0 {
        if is_set(cancel) {
            return Stop::Cancelled;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let message = match (left, cancel) {
            (None, None) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (Some(left), None) => rx.recv_timeout(left),
            (left, Some(_)) => match rx.recv_timeout(left.map_or(CANCEL_POLL, |l| l.min(CANCEL_POLL))) {
                // A slice ended, not the deadline: look at the flag again.
                Err(RecvTimeoutError::Timeout) if deadline.is_none_or(|d| Instant::now() < d) => continue,
                other => other,
            },
        };
        match message {
            Ok(Message::Line(stream, bytes, dropped)) => deliver(stream, bytes, dropped),
            Ok(Message::Eof) => *open_streams -= 1,
            Err(RecvTimeoutError::Timeout) => return Stop::Deadline,
            Err(RecvTimeoutError::Disconnected) => *open_streams = 0,
        }
    }
    Stop::Eof
}

/// Why reading a program's output (or waiting for it) stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Both streams reached end of file.
    Eof,
    /// The deadline passed.
    Deadline,
    /// The cancel flag was set.
    Cancelled,
}

/// How often a running program's cancel flag is looked at.
pub(super) const CANCEL_POLL: Duration = Duration::from_millis(100);

/// Whether the cancel flag is there and set.
pub(super) fn is_set(cancel: Option<&AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_lines_and_counts_what_was_dropped() {
        let input = b"short\nabcdefghij\nxyz".to_vec();
        let mut reader = BufReader::with_capacity(3, &input[..]);
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        loop {
            let (read, dropped) = read_capped_line(&mut reader, &mut buf, 5).expect("reads");
            if read == 0 {
                break;
            }
            lines.push((String::from_utf8(buf.clone()).expect("utf-8"), dropped));
        }
        assert_eq!(lines, vec![("short".into(), 0), ("abcde".into(), 5), ("xyz".into(), 0)]);
        assert_eq!(decode(b"abcde".to_vec(), 5), format!("abcde{}", cut_marker(5)));
    }
}

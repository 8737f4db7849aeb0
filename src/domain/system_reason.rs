//! Reasons that Slipway itself writes (a job's failure, the sweep's verdict)
//! are made readable here instead of being validated: the text comes from
//! programs (svn, rsync, builds, hooks) that print colours, progress bars
//! and any bytes they like, and a reason written by the system must never
//! be refused (invariant 5: a refused note left tickets stuck).
//!
//! [`system_reason`] strips ANSI escape sequences, shows other control and
//! invisible format characters as text (`\x07`, `<U+202E>`), and cuts long
//! text in the middle, keeping its start and its end (where the error is).

use super::validate::Reason;

/// Longest system reason kept, in characters (below [`Reason::MAX_CHARS`],
/// so the cut marker always fits).
pub const MAX_SYSTEM_REASON_CHARS: usize = 3000;

/// Characters kept from the start of a text that is cut.
const HEAD_CHARS: usize = 1000;

/// What a reason says when the text had nothing readable in it.
const EMPTY: &str = "the job failed without a message (see its log)";

/// Invisible format characters that can reorder or hide text
/// (bidirectional overrides and isolates, zero-width characters, BOM).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}')
}

/// Skips one escape sequence whose ESC was just read: CSI (`ESC [` …
/// final byte), OSC/DCS/PM/APC strings (ended by BEL or `ESC \`), or a
/// two-character escape.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => {
            // Parameter and intermediate bytes, then one final byte @..~.
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7E}').contains(&c) {
                    break;
                }
            }
        }
        Some(']' | 'P' | '^' | '_' | 'X') => {
            while let Some(c) = chars.next() {
                if c == '\u{07}' {
                    break;
                }
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        // nF escapes (`ESC ( B`): intermediate bytes, then one final byte.
        Some(' '..='/') => {
            for c in chars.by_ref() {
                if ('0'..='~').contains(&c) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Removes escape sequences and shows other control characters as text;
/// keeps newlines and tabs; drops carriage returns (progress bars).
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // A CSI introduced by the single C1 character.
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7E}').contains(&c) {
                        break;
                    }
                }
            }
            '\n' | '\t' => out.push(c),
            '\r' => {}
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if is_invisible_format(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to [`MAX_SYSTEM_REASON_CHARS`], keeping its start and end.
fn cut(text: &str) -> String {
    let total = text.chars().count();
    if total <= MAX_SYSTEM_REASON_CHARS {
        return text.to_owned();
    }
    let marker_room = 80;
    let tail_chars = MAX_SYSTEM_REASON_CHARS - HEAD_CHARS - marker_room;
    let head: String = text.chars().take(HEAD_CHARS).collect();
    let tail: String = text.chars().skip(total - tail_chars).collect();
    let dropped = total - HEAD_CHARS - tail_chars;
    format!("{head}\n… ({dropped} characters cut; the job log has them all) …\n{tail}")
}

/// Turns any text into a reason that validation accepts: readable, short
/// enough, never empty. Never fails.
pub fn system_reason(text: &str) -> Reason {
    let readable = cut(clean(text).trim());
    Reason::parse("reason", &readable)
        .or_else(|_| Reason::parse("reason", EMPTY))
        .unwrap_or_else(|_| unreachable_reason())
}

/// The fixed fallback, should validation ever refuse even [`EMPTY`].
#[cold]
fn unreachable_reason() -> Reason {
    // `EMPTY` is plain ASCII well under the length limit; validation that
    // refused it would refuse every reason.
    match Reason::parse("reason", "the job failed") {
        Ok(reason) => reason,
        Err(error) => panic!("validation refuses a fixed ASCII reason: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours_and_keeps_the_words() {
        let r = system_reason("hook failed: \u{1b}[31mboom\u{1b}[0m\n");
        assert_eq!(r.as_str(), "hook failed: boom");
    }

    #[test]
    fn strips_osc_titles_and_progress_returns() {
        let r = system_reason("\u{1b}]0;title\u{07}50%\r100%\ndone\u{1b}(B");
        assert_eq!(r.as_str(), "50%100%\ndone");
    }

    #[test]
    fn shows_other_controls_and_invisible_characters_as_text() {
        let r = system_reason("bell\u{07} nul\u{0} rlo\u{202E}x");
        assert_eq!(r.as_str(), "bell\\x07 nul\\x00 rlo<U+202E>x");
        assert!(Reason::parse("reason", r.as_str()).is_ok());
    }

    #[test]
    fn cuts_long_text_keeping_both_ends() {
        let long = format!("START{}END", "x".repeat(100_000));
        let r = system_reason(&long);
        assert!(r.as_str().chars().count() <= MAX_SYSTEM_REASON_CHARS);
        assert!(r.as_str().starts_with("START") && r.as_str().ends_with("END"));
        assert!(r.as_str().contains("characters cut"));
    }

    #[test]
    fn empty_or_only_escapes_gives_a_fixed_reason() {
        assert_eq!(system_reason("").as_str(), EMPTY);
        assert_eq!(system_reason("\u{1b}[0m \r\n").as_str(), EMPTY);
    }
}

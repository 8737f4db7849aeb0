//! Quoting for the remote login shell: the only way a value reaches a command
//! line sent over ssh.

/// Quotes `word` for a POSIX shell: wrapped in single quotes, each `'` written
/// as `'\''`. Every byte, including `$`, `` ` ``, `\`, `;`, newlines and
/// spaces, then arrives literally as one argument.
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// An argument vector as one shell command: every word quoted.
pub fn shell_join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn quotes_single_quotes_and_leaves_the_rest_alone() {
        assert_eq!(shell_quote("abc"), "'abc'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_join(&["a b", "$x"]), "'a b' '$x'");
    }

    #[test]
    fn hostile_words_arrive_literally_through_sh() {
        let hostile = [
            "'; rm -rf / #",
            "$(touch /tmp/slipway-pwned)",
            "`id`",
            "a\nb",
            "\\'\"",
            "*",
            "-n",
            "' '",
            "$HOME ${PATH}",
            "ünïcode ✓",
        ];
        for word in hostile {
            // printf %s\0 prints each argument it got; the script is fixed.
            let script = format!("printf '%s\\0' {}", shell_quote(word));
            let out = Command::new("sh").arg("-c").arg(&script).output().expect("sh runs");
            assert!(out.status.success());
            assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{word}\0"), "{word:?}");
        }
    }
}

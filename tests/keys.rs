//! The generated signing key under a race between processes: several
//! processes start at once on an empty data dir and must all read one
//! complete key (this test binary re-runs itself as the racers).

use std::process::Command;

const CHILD_ENV: &str = "SLIPWAY_TEST_KEY_RACE_PATH";

/// In a child: make or read the key and print it; otherwise does nothing.
#[test]
fn child_reads_key() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    match slipway::keys::key_file(std::path::Path::new(&path)) {
        Ok(key) => println!("KEY={}", String::from_utf8_lossy(&key)),
        Err(e) => println!("ERR={e}"),
    }
}

#[test]
fn racing_processes_agree_on_one_key() {
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwt.key");
        let children: Vec<_> = (0..6)
            .map(|_| {
                Command::new(&exe)
                    .args(["--exact", "child_reads_key", "--nocapture", "--test-threads=1"])
                    .env(CHILD_ENV, &path)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn racer")
            })
            .collect();
        let mut keys = Vec::new();
        for child in children {
            let out = child.wait_with_output().expect("racer output");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = text
                .lines()
                .find_map(|l| l.find("KEY=").or_else(|| l.find("ERR=")).map(|at| l[at..].to_owned()))
                .unwrap_or_else(|| panic!("round {round}: racer printed no key: {text}"));
            keys.push(line);
        }
        assert!(keys[0].starts_with("KEY="), "round {round}: {keys:?}");
        assert_eq!(keys[0].len(), 4 + 64, "round {round}: {keys:?}");
        assert!(keys.iter().all(|k| k == &keys[0]), "round {round}: {keys:?}");
    }
}

//! Seeds a database for the web benchmark (`scripts/bench-web.sh`):
//! users, projects, and N tickets with their events, inserted with direct
//! SQL in one transaction (seconds for 100k tickets). Not a test and not a
//! benchmark by itself: without `--bench` (which `cargo bench` passes) it
//! does nothing, so `cargo test --benches` stays quick.
//!
//! `cargo bench --bench web_seed -- --data-dir DIR [--tickets N] [--database-url URL]`
//! creates `DIR/slipway.db`, or seeds the empty PostgreSQL database (or
//! schema) at `URL`; every user's password is `bench-password`.
//! Prints `seeded N tickets; sample ticket id: ID`.

use std::time::Instant;

use diesel::{Connection, RunQueryDsl};
use slipway::service::import;
use slipway::service::users::{self, NewAccount};
use slipway::store::{self, migrate, DbLocation, PoolOptions};

const PROJECTS: [&str; 8] = [
    "shop",
    "blog",
    "billing",
    "search",
    "mobile-api",
    "admin",
    "cms",
    "reports",
];
const STATES: [&str; 10] = [
    "released",
    "released",
    "released",
    "cancelled",
    "rejected",
    "rolled_back",
    "returned",
    "staged",
    "tested",
    // Not `submitted`: a submitted ticket without its stage job is one the
    // server's orphan sweep fails (and announces) while the bench measures.
    "returned",
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let Some(dir) = arg(&args, "--data-dir") else {
        eprintln!("web_seed: --data-dir DIR is required");
        std::process::exit(2);
    };
    let count: i64 = arg(&args, "--tickets").and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let start = Instant::now();
    std::fs::create_dir_all(&dir).expect("data dir");
    let location = match arg(&args, "--database-url") {
        Some(url) => DbLocation::Postgres(url),
        None => DbLocation::SqliteFile(std::path::Path::new(&dir).join("slipway.db")),
    };
    let options = PoolOptions {
        max_size: 1,
        connect_timeout: std::time::Duration::from_secs(10),
        busy_timeout: std::time::Duration::from_secs(10),
    };
    let pool = store::connect(&location, &options).expect("open the database");
    let mut conn = pool.get().expect("connection");
    migrate::run_pending(&mut conn).expect("migrate");

    let people: Vec<String> = ["bench", "lead", "tester"]
        .into_iter()
        .map(str::to_owned)
        .chain((1..=20).map(|i| format!("dev{i}")))
        .collect();
    for name in &people {
        users::add(
            &mut conn,
            &NewAccount {
                username: name,
                display_name: "",
                email: "",
                password: "bench-password",
                is_admin: name == "bench",
            },
        )
        .expect("user");
    }
    let devs: Vec<String> = people.iter().map(|p| format!("\"{p}\"")).collect();
    let mut toml =
        String::from("[[host_group]]\nname = \"web\"\nhosts = [{ name = \"web1\", target = \"/srv/web1\" }]\n");
    for p in PROJECTS {
        toml.push_str(&format!(
            "\n[[project]]\nname = \"{p}\"\nsvn_url = \"svn://svn.example/{p}/trunk\"\n\
             staging_dir = \"/srv/staging/{p}\"\nstaging_url = \"http://staging.example/{p}/\"\n\
             host_groups = [\"web\"]\nleads = [\"lead\", \"bench\"]\ndevelopers = [{}]\ntesters = [\"tester\", \"bench\"]\n",
            devs.join(", ")
        ));
    }
    import::import(&mut conn, &toml).expect("import");

    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let ids = |conn: &mut store::DbConn, sql: &str| -> Vec<i64> {
        diesel::sql_query(sql)
            .load::<Id>(conn)
            .expect("ids")
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    let project_ids = ids(&mut conn, "SELECT id FROM projects ORDER BY id");
    let user_ids = ids(&mut conn, "SELECT id FROM users ORDER BY id");
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");

    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let mut version = vec![0i64; project_ids.len()];
        let batch = 500;
        let mut first = 0;
        while first < count {
            let last = (first + batch).min(count);
            let mut tickets = String::from(
                "INSERT INTO tickets (id, project_id, kind, state, reason, svn_paths, staged_revision, \
                 snapshot_commit, snapshot_seq, stage_generation, version, submitter_id, lock_version, \
                 created_at, updated_at) VALUES ",
            );
            let mut events = String::from(
                "INSERT INTO ticket_events (ticket_id, actor_id, action, from_state, to_state, note, \
                 emergency_override, created_at) VALUES ",
            );
            for n in first..last {
                let id = n + 1;
                let p = (n as usize * 7 + n as usize / 13) % project_ids.len();
                let state = STATES[(n as usize * 31 / 7) % STATES.len()];
                let submitter = user_ids[3 + (n as usize % 20)];
                let at = base + chrono::TimeDelta::minutes(n * 5);
                let at = at.format("%Y-%m-%d %H:%M:%S");
                let v = if matches!(state, "released" | "rolled_back") {
                    version[p] += 1;
                    version[p].to_string()
                } else {
                    "NULL".to_owned()
                };
                let sep = if n == first { "" } else { "," };
                tickets.push_str(&format!(
                    "{sep}({id}, {pid}, 'release', '{state}', 'Ticket {id}: fix checkout flow and update \
                     translations for the cart page', '[\"src/app.js\",\"web/css/site.css\"]', {rev}, '{id:040x}', \
                     {id}, 1, {v}, {submitter}, 3, '{at}', '{at}')",
                    pid = project_ids[p],
                    rev = 1000 + n,
                ));
                events.push_str(&format!(
                    "{sep}({id}, {submitter}, 'submit', NULL, 'submitted', NULL, FALSE, '{at}')"
                ));
                events.push_str(&format!(
                    ",({id}, NULL, 'stage-succeeded', 'submitted', 'staged', NULL, FALSE, '{at}')"
                ));
                if state != "staged" {
                    events.push_str(&format!(
                        ",({id}, {lead}, 'mark-tested', 'staged', '{state}', 'looks good', FALSE, '{at}')",
                        lead = user_ids[1]
                    ));
                }
            }
            diesel::sql_query(tickets).execute(conn)?;
            diesel::sql_query(events).execute(conn)?;
            first = last;
        }
        for (i, pid) in project_ids.iter().enumerate() {
            if version[i] > 0 {
                diesel::sql_query(format!(
                    "UPDATE projects SET production_version = {} WHERE id = {pid}",
                    version[i]
                ))
                .execute(conn)?;
            }
        }
        Ok(())
    })
    .expect("seed");
    if matches!(location, DbLocation::Postgres(_)) {
        // The ids above were given; later inserts take the next ones.
        diesel::sql_query("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT MAX(id) FROM tickets))")
            .execute(&mut conn)
            .expect("ticket id sequence");
    }
    diesel::sql_query("ANALYZE").execute(&mut conn).expect("analyze");
    println!(
        "seeded {count} tickets in {:.1} s; sample ticket id: {}",
        start.elapsed().as_secs_f64(),
        count / 2
    );
}

//! "My work" over HTTP on SQLite and PostgreSQL (issue 12, speed): for a
//! user with different roles in several projects, each section lists
//! exactly the tickets the user may act on, newest first across projects:
//! approve where they lead (not their own, not a snapshot older than
//! production), test where they test or develop, release where they lead
//! or filed the ticket; their own open tickets; recent releases. Tickets of
//! a project they are not in appear nowhere; a section keeps looking past
//! a full batch of tickets the domain refuses.

mod common;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use slipway::store::schema::{approvals, hosts, projects, tickets};

use common::app::TestApp;
use common::TestDb;

const PROJECTS: &str = r#"
[[host_group]]
name = "web"
hosts = [{ name = "web1", target = "/srv/web1" }]

[[host_group]]
name = "docs-web"
hosts = [{ name = "docs1", target = "/srv/docs1" }]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
staging_url = "http://staging.example/shop/"
host_groups = ["web"]
leads = ["multi", "lead2"]
developers = ["multi", "dev"]
testers = ["multi"]

[[project]]
name = "blog"
svn_url = "file:///tmp/svn/blog/trunk"
staging_dir = "/tmp/staging/blog"
staging_url = "http://staging.example/blog/"
host_groups = ["web"]
leads = ["lead2"]
developers = ["dev"]
testers = ["multi"]

[[project]]
name = "cms"
svn_url = "file:///tmp/svn/cms/trunk"
staging_dir = "/tmp/staging/cms"
staging_url = "http://staging.example/cms/"
host_groups = ["web"]
leads = ["multi", "lead2"]
developers = ["dev"]

[[project]]
name = "docs"
svn_url = "file:///tmp/svn/docs/trunk"
staging_dir = "/tmp/staging/docs"
staging_url = "http://staging.example/docs/"
host_groups = ["docs-web"]
leads = ["lead2"]
developers = ["multi", "dev"]

[[project]]
name = "hidden"
svn_url = "file:///tmp/svn/hidden/trunk"
staging_dir = "/tmp/staging/hidden"
staging_url = "http://staging.example/hidden/"
host_groups = ["web"]
leads = ["lead2"]
developers = ["dev"]
testers = ["dev"]
"#;

/// Inserts tickets straight into the database (the page only reads them).
struct Tickets<'t, 'a> {
    app: &'t TestApp<'a>,
    at: NaiveDateTime,
    seq: i64,
}

/// The app of these tests: the users and projects they file tickets in.
fn app_with_projects(db: &TestDb) -> TestApp<'_> {
    TestApp::on(db)
        .with_users(&["multi", "lead2", "dev"])
        .with_project(PROJECTS)
        .start()
}

impl<'t, 'a> Tickets<'t, 'a> {
    /// Tickets filed from 2026-01-01 on, snapshots numbered from 1001.
    fn starting(app: &'t TestApp<'a>) -> Self {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("date");
        Self { app, at, seq: 1000 }
    }
}

impl Tickets<'_, '_> {
    fn project(&self, name: &str) -> i64 {
        projects::table
            .filter(projects::name.eq(name))
            .select(projects::id)
            .first(&mut *self.app.db().conn())
            .expect("project")
    }

    /// A ticket of `project` in `state`, filed by `by`, with snapshot order
    /// `seq` (the next one when `None`); with an approval by lead2 when it
    /// is approved.
    fn add(&mut self, project: &str, kind: &str, state: &str, by: &str, seq: Option<i64>) -> i64 {
        self.seq += 1;
        self.at += TimeDelta::minutes(1);
        let project_id = self.project(project);
        let mut conn = self.app.db().conn();
        let id: i64 = diesel::insert_into(tickets::table)
            .values((
                tickets::project_id.eq(project_id),
                tickets::kind.eq(kind),
                tickets::state.eq(state),
                tickets::reason.eq(format!("{project} {state} by {by}")),
                tickets::snapshot_seq.eq(Some(seq.unwrap_or(self.seq))),
                tickets::stage_generation.eq(1),
                tickets::submitter_id.eq(self.app.uid(by)),
                tickets::created_at.eq(self.at),
                tickets::updated_at.eq(self.at),
            ))
            .returning(tickets::id)
            .get_result(&mut *conn)
            .expect("insert ticket");
        if matches!(state, "approved" | "rollback_approved") {
            diesel::insert_into(approvals::table)
                .values((
                    approvals::ticket_id.eq(id),
                    approvals::user_id.eq(self.app.uid("lead2")),
                    approvals::generation.eq(1),
                    approvals::created_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .execute(&mut *conn)
                .expect("insert approval");
        }
        id
    }

    fn released(&mut self, project: &str, version: i64, seq: i64) -> i64 {
        let id = self.add(project, "release", "released", "dev", Some(seq));
        diesel::update(tickets::table.find(id))
            .set(tickets::version.eq(Some(version)))
            .execute(&mut *self.app.db().conn())
            .expect("version");
        id
    }
}

/// The ticket ids listed in section `id` of the page, in order.
fn section(html: &str, id: &str) -> Vec<i64> {
    let start = html
        .find(&format!("<section class=\"mb-4\" id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}: {html}"));
    let rest = &html[start..];
    let body = &rest[..rest.find("</section>").expect("section end")];
    body.split("<a href=\"/tickets/")
        .skip(1)
        .filter_map(|s| s.split('"').next().and_then(|n| n.parse().ok()))
        .collect()
}

fn sections_follow_roles_in_each_project(db: &TestDb) {
    let app = app_with_projects(db);
    let mut t = Tickets::starting(&app);

    // shop: multi leads, develops and tests. Production runs snapshot 105
    // (new tickets get snapshots from 1001 on).
    let shop_old_release = t.released("shop", 1, 105);
    let shop_staged = t.add("shop", "release", "staged", "dev", None);
    let shop_tested = t.add("shop", "release", "tested", "dev", None);
    let shop_approved = t.add("shop", "release", "approved", "dev", None);
    let shop_approved_old = t.add("shop", "release", "approved", "dev", Some(103));
    let shop_own_submitted = t.add("shop", "release", "submitted", "multi", None);
    let shop_rollback = t.add("shop", "rollback", "rollback_requested", "dev", None);
    let shop_rollback_approved = t.add("shop", "rollback", "rollback_approved", "dev", None);
    let shop_released = t.released("shop", 2, 200);
    diesel::update(projects::table.filter(projects::name.eq("shop")))
        .set((
            projects::production_version.eq(Some(1)),
            projects::production_snapshot_seq.eq(Some(105)),
        ))
        .execute(&mut *app.db().conn())
        .expect("production");

    // blog: multi only tests.
    let blog_staged = t.add("blog", "release", "staged", "dev", None);
    let _blog_tested = t.add("blog", "release", "tested", "dev", None);
    let _blog_approved = t.add("blog", "release", "approved", "dev", None);

    // cms: multi only leads; their own tested ticket is not theirs to approve.
    let cms_tested = t.add("cms", "release", "tested", "dev", None);
    let _cms_staged = t.add("cms", "release", "staged", "dev", None);
    let mut cms_own = Vec::new();
    for _ in 0..70 {
        cms_own.push(t.add("cms", "release", "tested", "multi", None));
    }

    // docs: multi only develops; releases only their own. A host runs v7
    // (snapshot 300), so an approved snapshot older than that may not ship.
    let docs_v7 = t.released("docs", 7, 300);
    diesel::update(hosts::table.filter(hosts::name.eq("docs1")))
        .set(hosts::running_version.eq(Some(7)))
        .execute(&mut *app.db().conn())
        .expect("running version");
    let docs_own_approved = t.add("docs", "release", "approved", "multi", Some(400));
    let docs_own_behind = t.add("docs", "release", "approved", "multi", Some(250));
    let _docs_approved = t.add("docs", "release", "approved", "dev", Some(500));
    let docs_staged = t.add("docs", "release", "staged", "dev", None);

    // hidden: multi is not a member.
    let hidden_staged = t.add("hidden", "release", "staged", "dev", None);
    let hidden_tested = t.add("hidden", "release", "tested", "dev", None);
    let hidden_own = t.add("hidden", "release", "submitted", "multi", None);

    let page = app.browser("multi").get("/");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(
        section(&html, "to_approve"),
        [cms_tested, shop_rollback, shop_tested],
        "leads approve others' tickets in shop and cms"
    );
    assert_eq!(
        section(&html, "to_test"),
        [docs_staged, blog_staged, shop_staged],
        "testers and developers mark tested; leads only do not (cms)"
    );
    assert_eq!(
        section(&html, "to_release"),
        [docs_own_approved, shop_rollback_approved, shop_approved],
        "a lead releases and executes anyone's, a developer only their own; never older than production"
    );
    let mine = section(&html, "mine");
    let mut want: Vec<i64> = cms_own.iter().rev().copied().take(50).collect();
    want.splice(0..0, [docs_own_behind, docs_own_approved]);
    want.truncate(50);
    assert_eq!(mine, want, "their own open tickets, newest first, at most 50");
    assert!(!mine.contains(&shop_own_submitted), "older than the newest 50");
    assert_eq!(
        section(&html, "recent"),
        [docs_v7, shop_released, shop_old_release],
        "recent releases of their projects, the latest first"
    );
    assert!(
        !html.contains(&format!("/tickets/{shop_approved_old}\"")),
        "older than production"
    );
    for id in [hidden_staged, hidden_tested, hidden_own] {
        assert!(!html.contains(&format!("/tickets/{id}\"")), "not a member of hidden");
    }
}

/// The streams' merge (SQLite: read a chunk at a time; PostgreSQL: one
/// lateral statement per owner column) gives exactly the newest ids of
/// the streams, each capped at `per_stream`, without duplicates, below a
/// bound: the same as sorting everything the streams hold.
fn newest_ids_merge_streams_like_a_full_sort(db: &TestDb) {
    use slipway::store::listing::{newest_ids, Owner, Stream};
    let app = app_with_projects(db);
    let mut t = Tickets::starting(&app);
    // Interleaved streams, several chunks long.
    let mut all: Vec<(i64, &str, &str, &str)> = Vec::new();
    for n in 0..90 {
        let project = ["shop", "blog", "cms"][n % 3];
        let state = ["tested", "staged"][n % 2];
        let by = ["multi", "dev"][(n / 5) % 2];
        all.push((t.add(project, "release", state, by, None), project, state, by));
    }
    let shop = t.project("shop");
    let cms = t.project("cms");
    let multi = app.uid("multi");
    let streams = vec![
        Stream {
            owner: Owner::Project(shop),
            state: "tested",
        },
        Stream {
            owner: Owner::Project(cms),
            state: "tested",
        },
        Stream {
            owner: Owner::Project(shop),
            state: "staged",
        },
        // Overlaps the first three: multi's tickets there come twice.
        Stream {
            owner: Owner::Submitter {
                user_id: multi,
                projects: None,
            },
            state: "tested",
        },
        Stream {
            owner: Owner::Submitter {
                user_id: multi,
                projects: Some(vec![shop]),
            },
            state: "staged",
        },
    ];
    let expect = |before: Option<i64>, per_stream: usize, limit: usize| -> Vec<i64> {
        let mut ids: Vec<i64> = Vec::new();
        for (n, stream) in streams.iter().enumerate() {
            let mut mine: Vec<i64> = all
                .iter()
                .filter(|&&(id, project, state, by)| {
                    let owner = match n {
                        0 | 2 => project == "shop",
                        1 => project == "cms",
                        3 => by == "multi",
                        _ => by == "multi" && project == "shop",
                    };
                    owner && state == stream.state && before.is_none_or(|b| id < b)
                })
                .map(|&(id, ..)| id)
                .collect();
            mine.sort_unstable_by(|a, b| b.cmp(a));
            mine.truncate(per_stream);
            ids.extend(mine);
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(limit);
        ids
    };
    let middle = all[45].0;
    for (before, per_stream, limit) in [
        (None, 64, 64),
        (None, 5, 100),
        (None, 20, 30),
        (Some(middle), 64, 50),
        (Some(middle), 3, 7),
        (None, 100, 1000),
    ] {
        let got = newest_ids(
            &mut app.db().conn(),
            &streams,
            before,
            i64::try_from(per_stream).expect("per stream"),
            i64::try_from(limit).expect("limit"),
        )
        .expect("newest ids");
        assert_eq!(
            got,
            expect(before, per_stream, limit),
            "before {before:?}, {per_stream} per stream, {limit}"
        );
    }
}

/// Recent releases: of each project's five newest released tickets, the
/// ten changed last, latest first (ties: newest first), whatever order the
/// tickets were filed in.
fn recent_releases_are_the_ten_changed_last(db: &TestDb) {
    let app = app_with_projects(db);
    let mut t = Tickets::starting(&app);
    let base = t.at;
    // (id, project, minutes after base of the last change)
    let mut released: Vec<(i64, &str, i64)> = Vec::new();
    for n in 0..18i64 {
        let project = ["shop", "blog", "cms"][(n % 3) as usize];
        let id = t.released(project, n + 1, 100 + n);
        // Changed out of filing order, with ties.
        let changed = (n * 7) % 11;
        diesel::update(tickets::table.find(id))
            .set(tickets::updated_at.eq(base + TimeDelta::minutes(changed)))
            .execute(&mut *app.db().conn())
            .expect("updated_at");
        released.push((id, project, changed));
    }
    let mut want: Vec<(i64, i64)> = Vec::new();
    for project in ["shop", "blog", "cms"] {
        let mut newest: Vec<(i64, i64)> = released.iter().filter(|r| r.1 == project).map(|r| (r.0, r.2)).collect();
        newest.sort_unstable_by_key(|r| std::cmp::Reverse(r.0));
        want.extend(newest.into_iter().take(5));
    }
    want.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let want: Vec<i64> = want.into_iter().take(10).map(|(id, _)| id).collect();
    let html = app.browser("multi").get("/").text();
    assert_eq!(section(&html, "recent"), want);
}

backend_tests!(
    sections_follow_roles_in_each_project,
    newest_ids_merge_streams_like_a_full_sort,
    recent_releases_are_the_ten_changed_last
);

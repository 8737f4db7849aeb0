//! Sign-in at the edges, over HTTP on SQLite and PostgreSQL: concurrent
//! wrong passwords are counted atomically (at most the limit is answered
//! 401, the rest 429), `X-Forwarded-For` counts only from a trusted proxy,
//! a stranger does not lock a user out of their known address, and the
//! `next` of the login page never leaves the site.

mod common;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use serde_json::json;
use slipway::web::throttle::{PER_ADDRESS, PER_USER};
use slipway::web::{client_addr::TrustedProxies, configure, AppState};

use common::TestDb;

fn setup(db: &TestDb, proxies: &[&str]) -> web::Data<AppState> {
    db.user("lead", false);
    db.user("dev", false);
    let mut state = AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
    state.proxies = TrustedProxies::parse(proxies).expect("proxies");
    web::Data::new(state)
}

macro_rules! app {
    ($state:expr) => {
        test::init_service(App::new().configure(configure($state.clone()))).await
    };
}

fn token_request(user: &str, password: &str, peer: &str, forwarded: Option<&str>) -> test::TestRequest {
    let mut req = test::TestRequest::post()
        .uri("/api/v1/auth/token")
        .peer_addr(peer.parse().expect("peer"))
        .set_json(json!({"username": user, "password": password}));
    if let Some(f) = forwarded {
        req = req.insert_header(("x-forwarded-for", f));
    }
    req
}

fn concurrent_wrong_passwords_are_counted_atomically(db: &TestDb) {
    let state = setup(db, &[]);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let calls = (0..60).map(|i| {
            // Spread over addresses so only the per-user limit can answer.
            let peer = format!("198.51.100.{}:4000", i % 50);
            test::call_service(&app, token_request("lead", "wrong", &peer, None).to_request())
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .map(|r| r.status())
            .collect();
        let unauthorized = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert!(
            unauthorized as u32 <= PER_USER.burst,
            "{unauthorized} answered 401: {statuses:?}"
        );
        assert_eq!(unauthorized + throttled, 60, "{statuses:?}");
        // Another user is not affected.
        let res = test::call_service(
            &app,
            token_request("dev", "password-1234", "198.51.100.1:4000", None).to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    });
}

fn a_stranger_does_not_lock_a_user_out_of_their_known_address(db: &TestDb) {
    let state = setup(db, &[]);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let call = |user: &'static str, pw: &'static str, peer: &'static str| {
            test::call_service(&app, token_request(user, pw, peer, None).to_request())
        };
        assert_eq!(
            call("lead", "password-1234", "10.0.0.5:1").await.status(),
            StatusCode::OK
        );
        for _ in 0..(PER_USER.burst + 5) {
            let status = call("lead", "guess", "203.0.113.66:1").await.status();
            assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS);
        }
        assert_eq!(
            call("lead", "password-1234", "203.0.113.77:1").await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "a new address shares the slowed bucket"
        );
        assert_eq!(
            call("lead", "password-1234", "10.0.0.5:1").await.status(),
            StatusCode::OK,
            "the lead's known address still signs in"
        );
    });
}

fn forwarded_for_counts_only_from_trusted_proxies(db: &TestDb) {
    let state = setup(db, &["10.0.0.1"]);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        // An untrusted peer spoofing a new X-Forwarded-For on each try is
        // still one address.
        for i in 0..PER_ADDRESS.burst {
            let spoof = format!("192.0.2.{i}");
            let user = format!("nobody{i}");
            let res = test::call_service(
                &app,
                token_request(&user, "x", "203.0.113.9:5000", Some(&spoof)).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "try {i}");
        }
        let res = test::call_service(
            &app,
            token_request("dev", "password-1234", "203.0.113.9:5000", Some("192.0.2.250")).to_request(),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the spoofed header was believed"
        );
        // Behind the trusted proxy, one client's failures do not lock out another.
        for i in 0..PER_ADDRESS.burst {
            let user = format!("nobody{i}");
            let res = test::call_service(
                &app,
                token_request(&user, "x", "10.0.0.1:80", Some("198.51.100.20")).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "try {i}");
        }
        let res = test::call_service(
            &app,
            token_request("nobody", "x", "10.0.0.1:80", Some("198.51.100.20")).to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let res = test::call_service(
            &app,
            token_request("dev", "password-1234", "10.0.0.1:80", Some("198.51.100.21")).to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "another client behind the proxy signs in");
    });
}

fn login_next_never_leaves_the_site(db: &TestDb) {
    let state = setup(db, &[]);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let csrf = "0123456789abcdef0123456789abcdef";
        for (raw, want) in [
            ("/%09/evil.example", "/"),
            ("/%0a/evil.example", "/"),
            ("%2F%2Fevil.example", "/"),
            ("/%5Cevil.example", "/"),
            ("/%252F/evil.example", "/"),
            ("https://evil.example", "/"),
            ("/tickets%3Fstate%3Dtested", "/tickets?state=tested"),
        ] {
            let res = test::call_service(
                &app,
                test::TestRequest::post()
                    .uri("/login")
                    .peer_addr("192.0.2.1:1".parse().expect("peer"))
                    .cookie(actix_web::cookie::Cookie::new(slipway::web::session::CSRF_COOKIE, csrf))
                    .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                    .set_payload(format!("username=dev&password=password-1234&csrf={csrf}&next={raw}"))
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{raw}");
            let location = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            assert_eq!(location, Some(want), "next={raw}");
            // The language switch uses the same guard.
            let res = test::call_service(
                &app,
                test::TestRequest::post()
                    .uri("/language")
                    .cookie(actix_web::cookie::Cookie::new(slipway::web::session::CSRF_COOKIE, csrf))
                    .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                    .set_payload(format!("lang=en&csrf={csrf}&back={raw}"))
                    .to_request(),
            )
            .await;
            let location = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            assert_eq!(location, Some(want), "back={raw}");
        }
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/login?next=/%09/evil.example")
                .to_request(),
        )
        .await;
        let html = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
        assert!(html.contains("name=\"next\" value=\"&#x2F;\""), "{html}");
    });
}

backend_tests!(
    concurrent_wrong_passwords_are_counted_atomically,
    a_stranger_does_not_lock_a_user_out_of_their_known_address,
    forwarded_for_counts_only_from_trusted_proxies,
    login_next_never_leaves_the_site,
);

//! The dashboard in a real browser: headless Chromium driven through
//! chromedriver (WebDriver, the `fantoccini` crate) against the real
//! `campaign-api` binary behind the local API Gateway front, during a
//! simulated morning. The page must list the campaign with its health, draw
//! today's chart from the audit trail, and pause the campaign when a
//! supervisor presses Pause and gives a reason; a refusal shows the route's
//! message.
//!
//! Needs `chromium` and `chromedriver` (`infra/setup.sh` installs Debian's
//! `chromium` and `chromium-driver`); without them the test fails saying so.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use capacity_tuner::Tuner;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use cxone_sim::Scenario;
use e2e_tests::{binary, scheduled_event, unique, TestStack};
use fantoccini::{Client, ClientBuilder, Locator};
use local_stack::apigw::{ApiClock, ApiGateway, CAMPAIGN_API_ROUTES, LOCAL_SUPERVISOR};
use local_stack::FunctionProcess;
use serde_json::{json, Map, Value};
use shared::deadline::Deadline;
use shared::invocation::Invocation;

/// Tuesday 10:00 in New York: calling is lawful.
const OPEN: &str = "2026-03-03T15:00:00Z";
/// How long the page gets to show something.
const WAIT: Duration = Duration::from_secs(30);

/// The first of `names` found on `PATH` or in `/usr/bin`.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .collect();
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// A running chromedriver on a free loopback port; killed when dropped.
struct Chromedriver {
    _child: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Chromedriver {
    let program = find_program(&["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed: run `bash infra/setup.sh` (it installs Debian's \
             chromium and chromium-driver with apt-get); this test needs a real browser"
        )
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = tokio::process::Command::new(program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{url}/status")).send().await {
            if r.status().is_success() {
                return Chromedriver { _child: child, url };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

async fn browser(driver: &Chromedriver, profile: &std::path::Path) -> Client {
    let chromium =
        find_program(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
            panic!(
                "chromium is not installed: run `bash infra/setup.sh` (apt-get install chromium \
                 chromium-driver); this test needs a real browser"
            )
        });
    let mut caps = Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,900",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

async fn configure(stack: &TestStack) {
    stack.put_config(1001, &e2e_tests::config_body(None)).await;
}

/// Tuner ticks at `times`, the simulator's clock moved to each first.
async fn ticks(stack: &TestStack, times: &[DateTime<Utc>]) {
    let tuner = Tuner::new(&stack.deps());
    for (i, t) in times.iter().enumerate() {
        if *t > stack.sim.admin().clock().await.unwrap() {
            stack.sim.admin().advance_to(*t).await.unwrap();
        }
        let report = tuner
            .handle(
                &scheduled_event(&format!("tick-{i}"), *t),
                &Invocation::new(
                    format!("req-tick-{i}"),
                    Deadline::after(Duration::from_secs(30)),
                ),
            )
            .await
            .unwrap();
        assert_eq!(report["campaigns"].as_array().unwrap().len(), 1, "{report}");
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// Waits until the element `css` shows text containing `needle`.
async fn wait_for_text(client: &Client, css: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = match client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never showed {needle:?} (last: {text:?}); page: {}",
            client.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the element `css`, finding it again if the page re-rendered it
/// between finding and clicking (the rows refresh themselves).
async fn click(client: &Client, css: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let clicked = match client.find(Locator::Css(css)).await {
            Ok(element) => element.click().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match clicked {
            Ok(()) => return,
            Err(e) => assert!(
                std::time::Instant::now() < deadline,
                "could not click {css}: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Presses `action` for campaign 1001 and answers the reason form.
async fn press(client: &Client, action: &str, reason: &str) {
    click(
        client,
        &format!(r#"button[data-action="{action}"][data-skill-id="1001"]"#),
    )
    .await;
    let input = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("dialog[open] #reason"))
        .await
        .expect("the reason form opens");
    input.send_keys(reason).await.unwrap();
    click(client, "#reason-ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_the_campaigns_and_pauses_one_in_a_browser() {
    let mut scenario = Scenario::small_test();
    let open: DateTime<Utc> = OPEN.parse().unwrap();
    scenario.start = open;
    let stack = TestStack::start(scenario).await;
    configure(&stack).await;
    ticks(&stack, &[open, open + ChronoDuration::minutes(5)]).await;

    let now = open + ChronoDuration::minutes(6);
    stack.sim.admin().advance_to(now).await.unwrap();
    let api = Arc::new(
        FunctionProcess::spawn(binary("campaign-api"), stack.function_env())
            .await
            .expect("campaign-api under the runtime emulator"),
    );
    let front = ApiGateway::builder()
        .routes(CAMPAIGN_API_ROUTES, &api)
        .unwrap()
        .local_jwt("/ui/")
        .clock(ApiClock::settable(now))
        .start()
        .await
        .unwrap();

    // The page and its assets carry the security headers.
    let page = reqwest::get(format!("{}/dashboard", front.base_url()))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["referrer-policy"]
        .to_str()
        .unwrap()
        .contains("no-referrer"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let config: Value = reqwest::get(format!("{}/dashboard/config.json", front.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config, json!({"auth": null}), "local mode: no sign-in");

    let driver = chromedriver().await;
    let profile = std::env::temp_dir().join(unique("chromium-profile"));
    std::fs::create_dir_all(&profile).unwrap();
    let client = browser(&driver, &profile).await;
    client
        .goto(&format!("{}/dashboard", front.base_url()))
        .await
        .unwrap();

    // One row for the campaign, with its health.
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(r#"tr.campaign[data-skill-id="1001"]"#))
        .await
        .expect("the campaign's row");
    let row = text_of(&client, r#"tr.campaign[data-skill-id="1001"]"#).await;
    assert!(row.contains("1001") && row.contains("running"), "{row}");
    assert!(row.contains("staffed"), "{row}");
    assert_eq!(
        client
            .find_all(Locator::Css("tr.campaign"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(text_of(&client, "#who").await.contains("local mode"));

    // Today's chart from the audit trail: one point per tuning decision.
    let chart = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(r#"svg.chart[data-skill-id="1001"]"#))
        .await
        .expect("the campaign's chart");
    let points: u32 = chart
        .attr("data-points")
        .await
        .unwrap()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    assert_eq!(points, 2, "two ticks, two decisions");
    let lines = client
        .find_all(Locator::Css(
            r#"svg.chart[data-skill-id="1001"] polyline[data-series="ratio"]"#,
        ))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);

    // Failback while on the primary: the route's refusal is shown.
    press(&client, "failback", "checking the button").await;
    let error = wait_for_text(&client, "#error", "Failback 1001 refused").await;
    assert!(error.len() > "Failback 1001 refused: ".len(), "{error}");

    // Pause: the skill stops in CXone, recorded for the signed-in person.
    assert_eq!(
        stack.sim.admin().skill_state(1001).await.unwrap()["running"],
        true
    );
    press(&client, "pause", "agents in a team meeting").await;
    wait_for_text(&client, "#status", "Pause 1001").await;
    assert_eq!(
        stack.sim.admin().skill_state(1001).await.unwrap()["running"],
        false,
        "the skill is stopped in CXone"
    );
    wait_for_text(
        &client,
        r#"tr.campaign[data-skill-id="1001"] td.paused"#,
        "paused",
    )
    .await;
    let paused = stack
        .deps()
        .audit()
        .all_for(1001)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action.contains("pause"))
        .expect("the pause is audited");
    assert_eq!(paused.actor, format!("jwt:{LOCAL_SUPERVISOR}"));

    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    front.shutdown().await;
}

//! Client tests against a tiny scripted HTTP server: the exact requests the
//! client sends, and that no credential or token reaches logs or errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{ClientSettings, CxoneClient, CxoneError};
use crate::deadline::Deadline;
use crate::secret::{BundleSecret, StaticSecret};

const ACCESS_KEY_SECRET: &str = "AKS-SECRET-value";
const CLIENT_SECRET: &str = "CLIENT-SECRET-value";
const ACCESS_TOKEN: &str = "ACCESS-TOKEN-value";
const REFRESH_TOKEN: &str = "REFRESH-TOKEN-value";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Script = Arc<dyn Fn(&Seen, usize) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

/// Serves `script` (called with the request and how many API calls came
/// before it) on loopback; returns the base URL and the requests seen.
async fn serve(script: Script) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, content_length) = loop {
                let Ok(n) = socket.read(&mut chunk).await else {
                    break (0, 0);
                };
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.trim()
                                .eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0usize);
                    break (pos + 4, len);
                }
            };
            if head_end == 0 {
                continue;
            }
            while buf.len() < head_end + content_length {
                let Ok(n) = socket.read(&mut chunk).await else {
                    break;
                };
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let mut lines = head.lines();
            let request_line = lines.next().unwrap_or_default().to_owned();
            let mut parts = request_line.split_whitespace();
            let request = Seen {
                method: parts.next().unwrap_or_default().to_owned(),
                target: parts.next().unwrap_or_default().to_owned(),
                headers: lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect(),
                body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
            };
            let api_calls = {
                let mut seen = log.lock().expect("log");
                let n = seen
                    .iter()
                    .filter(|s| s.target.starts_with("/inContactAPI/"))
                    .count();
                seen.push(request.clone());
                n
            };
            let (status, headers, body) = script(&request, api_calls);
            let mut answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                answer.push_str(&format!("{k}: {v}\r\n"));
            }
            answer.push_str("\r\n");
            answer.push_str(&body);
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (base, seen)
}

fn jwt(claims: &Value) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        engine.encode(r#"{"alg":"none"}"#),
        engine.encode(claims.to_string())
    )
}

fn secret() -> Arc<StaticSecret> {
    Arc::new(StaticSecret(Arc::new(BundleSecret {
        access_key_id: "AK-ID".into(),
        access_key_secret: SecretString::from(ACCESS_KEY_SECRET.to_owned()),
        client_id: "client-id".into(),
        client_secret: SecretString::from(CLIENT_SECRET.to_owned()),
        tenant_id: None,
        api_endpoint: None,
    })))
}

/// A log sink for the test's thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn requests_follow_the_contract_and_nothing_secret_is_logged() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let base_cell: Arc<Mutex<String>> = Arc::default();
    let base_for_script = base_cell.clone();
    let script: Script = Arc::new(move |req: &Seen, api_calls: usize| {
        let base = base_for_script.lock().expect("base").clone();
        let path = req.target.split('?').next().unwrap_or_default();
        let ok = |v: Value| (200, Vec::new(), v.to_string());
        match path {
            "/.well-known/openid-configuration" => {
                ok(json!({"token_endpoint": format!("{base}/auth/token")}))
            }
            "/auth/token" => ok(json!({
                "access_token": ACCESS_TOKEN, "token_type": "Bearer", "refresh_token": REFRESH_TOKEN,
                "expires_in": 3600, "id_token": jwt(&json!({"tenantId": "tenant-1"}))
            })),
            "/.well-known/cxone-configuration" => ok(json!({"api_endpoint": format!("{base}/")})),
            _ => match api_calls {
                // 401 first (new token, retry once), then a 503 with Retry-After, then success
                0 => (
                    401,
                    Vec::new(),
                    json!({"error": "invalid_token"}).to_string(),
                ),
                1 => (
                    503,
                    vec![("Retry-After".into(), "0".into())],
                    json!({"message": "busy"}).to_string(),
                ),
                _ => ok(json!({"skillActivity": [{"agentsAvailable": 2, "agentsWorking": "3"}]})),
            },
        }
    });
    let (base, seen) = serve(script).await;
    *base_cell.lock().expect("base") = base.clone();

    let settings =
        ClientSettings::new(&base, "v30.0").with_retry_backoff(vec![Duration::from_millis(50)]);
    let cx = CxoneClient::new(settings, secret()).expect("client");
    let activity = cx
        .skill_activity(1001, &Deadline::after(Duration::from_secs(10)))
        .await
        .expect("activity");
    assert_eq!(activity.staffed(), 5);
    assert_eq!(cx.retries(), 2);

    let seen = seen.lock().expect("seen").clone();
    let targets: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.target))
        .collect();
    assert_eq!(
        targets,
        vec![
            "GET /.well-known/openid-configuration".to_owned(),
            "POST /auth/token".to_owned(),
            "GET /.well-known/cxone-configuration?tenantId=tenant-1".to_owned(),
            "GET /inContactAPI/services/v30.0/skills/1001/activity".to_owned(),
            "POST /auth/token".to_owned(),
            "GET /inContactAPI/services/v30.0/skills/1001/activity".to_owned(),
            "GET /inContactAPI/services/v30.0/skills/1001/activity".to_owned(),
        ]
    );
    // password grant: form body, HTTP Basic client credentials
    let token = &seen[1];
    let form: Vec<(String, String)> = url::form_urlencoded::parse(token.body.as_bytes())
        .into_owned()
        .collect();
    assert!(
        form.contains(&("grant_type".into(), "password".into())),
        "{form:?}"
    );
    assert!(form.contains(&("username".into(), "AK-ID".into())));
    assert!(form.contains(&("password".into(), ACCESS_KEY_SECRET.into())));
    {
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("client-id:{CLIENT_SECRET}"));
        assert_eq!(
            token.header("authorization"),
            Some(format!("Basic {basic}").as_str())
        );
    }
    assert!(token
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")));
    // after a 401 the client gets a new token with the password grant (not a refresh)
    assert!(
        seen[4].body.contains("grant_type=password"),
        "{}",
        seen[4].body
    );
    // API calls: bearer token and Accept
    let api = &seen[3];
    assert_eq!(
        api.header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert_eq!(api.header("accept"), Some("application/json"));

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("capture")).to_string();
    assert!(
        logs.contains("retrying"),
        "expected retry events in the logs:\n{logs}"
    );
    for secret in [
        ACCESS_KEY_SECRET,
        CLIENT_SECRET,
        ACCESS_TOKEN,
        REFRESH_TOKEN,
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
    assert!(!format!("{cx:?}").contains(ACCESS_TOKEN));
}

#[tokio::test]
async fn token_refusal_errors_do_not_quote_credentials() {
    let script: Script = Arc::new(move |req: &Seen, _| {
        let path = req.target.split('?').next().unwrap_or_default();
        match path {
            "/.well-known/openid-configuration" => (
                200,
                Vec::new(),
                json!({"token_endpoint": format!("http://{}/auth/token", req.header("host").unwrap_or_default())})
                    .to_string(),
            ),
            _ => (
                400,
                Vec::new(),
                json!({"error": "invalid_grant", "errorDescription": "Invalid access key"}).to_string(),
            ),
        }
    });
    let (base, seen) = serve(script).await;
    let cx = CxoneClient::new(ClientSettings::new(&base, "v30.0"), secret()).expect("client");
    let err = cx
        .skill_activity(1, &Deadline::after(Duration::from_secs(10)))
        .await
        .expect_err("refused");
    match &err {
        CxoneError::Auth { status, error, .. } => {
            assert_eq!(*status, Some(400));
            assert_eq!(error.as_deref(), Some("invalid_grant"));
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(text.contains("Invalid access key"), "{text}");
    for secret in [ACCESS_KEY_SECRET, CLIENT_SECRET] {
        assert!(!text.contains(secret), "{text}");
    }
    // one retry after re-reading the secret, then the error
    let tokens = seen
        .lock()
        .expect("seen")
        .iter()
        .filter(|s| s.target == "/auth/token")
        .count();
    assert_eq!(tokens, 2);
}

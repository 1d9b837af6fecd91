//! The `cxone-sim` binary: port file, banner, clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(unix)]
#[tokio::test]
async fn binary_serves_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("cxone-sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port_file = dir.join("port");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/demo-day.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cxone-sim"))
        .args(["--scenario", scenario, "--port", "0", "--port-file"])
        .arg(&port_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        line.trim(),
        format!("cxone-sim listening on http://127.0.0.1:{port}")
    );
    let admin = cxone_sim::AdminClient::new(format!("http://127.0.0.1:{port}"));
    let now = admin.clock().await.unwrap();
    assert_eq!(now.to_rfc3339(), "2026-03-10T11:30:00+00:00");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "exit status {s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cxone-sim did not exit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);

    // A bad scenario path exits with status 2.
    let s = Command::new(env!("CARGO_BIN_EXE_cxone-sim"))
        .args(["--scenario", "/nonexistent.json"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(2));
}

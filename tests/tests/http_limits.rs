//! The HTTP listener under abuse: slow clients are cut, one address cannot take every
//! connection, and a full lane (uploads) does not stop alerts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use e2e::{Broker, Controller, wait_until};
use serde_json::json;

fn start(dir: &Path, http: &str) -> Controller {
    let config = dir.join("controller.toml");
    std::fs::write(&config, format!("[http]\n{http}\n")).unwrap();
    Controller::start_with(
        dir,
        Broker::Embedded,
        &["--config", config.to_str().unwrap()],
    )
}

fn connect(ctl: &Controller) -> TcpStream {
    let stream = TcpStream::connect(ctl.http.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    stream
}

/// True once the server has closed `stream` (EOF or reset), with nothing answered first.
fn closed_silently(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!(
            "expected a silent close, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => false,
        Err(_) => true,
    }
}

#[test]
fn slow_headers_are_cut_and_one_address_holds_only_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = start(
        dir.path(),
        "header_timeout_secs = 2\nmax_connections_per_address = 4",
    );
    // Four clients that never finish their headers hold this address's four slots.
    let mut slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&ctl);
            s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    // A fifth is closed at once, without an answer.
    let mut fifth = connect(&ctl);
    let _ = fifth.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_until(
        Duration::from_secs(5),
        "the fifth connection closed",
        || closed_silently(&mut fifth),
    );
    // The slow ones are cut after the header deadline, which frees the address's slots.
    for (i, s) in slow.iter_mut().enumerate() {
        wait_until(
            Duration::from_secs(10),
            &format!("slow client {i} cut"),
            || closed_silently(s),
        );
    }
    let (status, health) = ctl.get("/api/v1/health");
    assert_eq!(status, 200, "{health}");
    assert!(
        ctl.proc.log().contains("HTTP connection refused"),
        "the refusal is logged"
    );
    assert!(
        health["http"]["refused_connections"].as_u64() >= Some(1),
        "{health}"
    );
}

#[test]
fn stalled_uploads_fill_their_lane_while_alerts_still_go_out() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = start(dir.path(), "header_timeout_secs = 30");
    // Eight uploads that announce a body and stall: the upload lane's eight slots.
    let stall = || {
        let mut s = connect(&ctl);
        let head = format!(
            "POST /api/v1/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n--b\r\n",
            ctl.token
        );
        s.write_all(head.as_bytes()).unwrap();
        s
    };
    let mut stalled: Vec<TcpStream> = (0..8).map(|_| stall()).collect();
    wait_until(Duration::from_secs(10), "the upload lane full", || {
        // One that arrived after a probe upload took its slot was refused: stall again.
        for s in stalled.iter_mut() {
            let mut buf = [0u8; 512];
            if matches!(s.read(&mut buf), Ok(n) if n > 0) {
                *s = stall();
            }
        }
        ctl.upload("late.png", &e2e::test_png(1)).0 == 503
    });
    let (status, answer) = ctl.upload("late.png", &e2e::test_png(1));
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("busy"),
        "{answer}"
    );
    // Alerts have their own lane.
    let drill = json!({
        "template": {"kind": "earthquake"},
        "placeholders": {"area": "北区"},
        "targets": [{"kind": "all"}],
        "status": "Exercise",
    });
    let (status, answer) = ctl.send_json("POST", "/api/v1/alerts", &drill);
    assert_eq!(status, 201, "{answer}");
    // Other reads still answer too, and health counts the refusals.
    assert_eq!(ctl.get("/api/v1/assets").0, 200);
    let (_, health) = ctl.get("/api/v1/health");
    assert!(
        health["http"]["busy_requests"].as_u64() >= Some(1),
        "{health}"
    );
    // When the stalled clients go, uploads are served again.
    drop(stalled);
    wait_until(Duration::from_secs(10), "uploads served again", || {
        matches!(ctl.upload("late.png", &e2e::test_png(1)).0, 200 | 201)
    });
}

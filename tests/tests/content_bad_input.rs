//! Hostile and broken uploads: each refused with a clear 4xx, and nothing half-written left in
//! the blob store or the upload area.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use e2e::{Broker, Controller, multipart, test_png};

const LIMIT: usize = 4096;

fn assert_nothing_stored(controller: &Controller, what: &str) {
    let (blobs, incoming) = controller.stored_files();
    assert!(
        blobs.is_empty() && incoming.is_empty(),
        "{what}: left {blobs:?} {incoming:?}"
    );
    let (_, assets) = controller.get("/api/v1/assets");
    assert_eq!(assets, serde_json::json!([]), "{what}");
}

/// Sends the first `send` bytes of a multipart upload that announces all of them, then closes
/// its side; returns the status line of the answer, if any.
fn truncated_upload(controller: &Controller, bytes: &[u8], send: usize) -> String {
    let (content_type, body) = multipart("cut.png", bytes);
    let addr = controller.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/content HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        controller.token,
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..send]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn bad_uploads_are_refused_clearly_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start_with(
        dir.path(),
        Broker::Embedded,
        &["--max-upload-bytes", &LIMIT.to_string()],
    );
    let png = test_png(9);
    assert!(png.len() < LIMIT);

    for name in [
        "../../etc/passwd",
        "..\\..\\evil.png",
        "/etc/cron.d/x.png",
        "a/../../b.png",
    ] {
        let (status, answer) = controller.upload(name, &png);
        assert_eq!(status, 400, "{name}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("without directories"),
            "{answer}"
        );
    }
    assert_nothing_stored(&controller, "path traversal");

    for path in [
        "/api/v1/content/..%2F..%2Fcontroller.db",
        "/api/v1/content/controller.db",
        &format!("/api/v1/content/{}", "A".repeat(64)),
    ] {
        let (status, _, _) = controller.get_bytes(path, None);
        assert_eq!(status, 400, "{path}");
    }

    for (name, bytes) in [
        ("poster.png", &b"<html><script>alert(1)</script></html>"[..]),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        (
            "clip.mp4",
            b"%PDF-1.7 not a video at all, whatever the name says",
        ),
    ] {
        let (status, answer) = controller.upload(name, bytes);
        assert_eq!(status, 415, "{name}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("first bytes"),
            "{answer}"
        );
    }
    assert_nothing_stored(&controller, "wrong content type");

    // Far too large (refused from Content-Length) and just too large (refused while streaming).
    for size in [LIMIT * 10, LIMIT + 100] {
        let mut big = png.clone();
        big.resize(size, 0);
        let (status, answer) = controller.upload("big.png", &big);
        assert_eq!(status, 413, "{size} bytes: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("upload limit"),
            "{answer}"
        );
    }
    assert_nothing_stored(&controller, "oversized");

    let status = truncated_upload(&controller, &png, png.len() / 2);
    assert!(
        status.contains(" 400 "),
        "truncated upload answered {status:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_nothing_stored(&controller, "truncated");

    // The refusals broke nothing: a good upload still works.
    let (status, answer) = controller.upload("fine.png", &png);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(controller.stored_files().0.len(), 1);
    assert!(controller.stored_files().1.is_empty());
}

/// Multipart framing built to make a reader buffer and rescan: a part header that never ends,
/// a preamble without a boundary, a body of many tiny parts. Each is refused as soon as it
/// passes its small bound, with a 400 that says which.
#[test]
fn hostile_multipart_framing_is_refused_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    // Raw TCP: the controller answers and closes before the rest of the body is sent.
    let post = |body: Vec<u8>| {
        let addr = controller.http.trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "POST /api/v1/content HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
            controller.token,
            body.len()
        )
        .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(&body);
        });
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        drop(stream);
        let _ = sender.join();
        let text = String::from_utf8_lossy(&answer).to_string();
        let status: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let json = text
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(b).ok())
            .unwrap_or_default();
        (status, json)
    };
    let mut endless = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\nX: ".to_vec();
    endless.resize(endless.len() + (8 << 20), b'a');
    let mut preamble = vec![b'p'; 8 << 20];
    preamble.extend_from_slice(b"\r\n--b--");
    let mut tiny = Vec::new();
    for _ in 0..1000 {
        tiny.extend_from_slice(
            b"--b\r\nContent-Disposition: form-data; name=\"duration_ms\"\r\n\r\n1\r\n",
        );
    }
    tiny.extend_from_slice(b"--b--");
    for (what, body, says) in [
        ("endless part headers", endless, "headers exceed"),
        ("endless preamble", preamble, "no boundary"),
        ("a thousand parts", tiny, "more than"),
    ] {
        let (status, answer) = post(body);
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{what}: {answer}"
        );
    }
    assert_nothing_stored(&controller, "hostile framing");
    let (status, answer) = controller.upload("fine.png", &test_png(3));
    assert_eq!(status, 201, "{answer}");
}

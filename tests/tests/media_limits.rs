//! Hostile media cannot stop the controller (issue 19). A `pr` account uploads, three times,
//! the 48-byte MP4 whose second box has a 64-bit size that wraps the offset back to 0 (it once
//! froze the controller at 200 % CPU), then a PNG declaring 50,000 x 50,000 pixels: each is
//! refused with 422 and a message saying why, nothing is stored, and the controller answers
//! throughout.

use e2e::{Broker, Controller, multipart, test_png};
use serde_json::Value;

/// `POST /api/v1/content` as the holder of `token` (the harness uploads as an admin).
fn upload_as(controller: &Controller, token: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    let (content_type, body) = multipart(name, bytes);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{}/api/v1/content", controller.http))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .send(&body[..])
        .expect("HTTP request");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_json().unwrap_or(Value::Null),
    )
}

fn assert_healthy(controller: &Controller) {
    let (status, health) = controller.get("/api/v1/health");
    assert_eq!(status, 200, "{health}");
}

#[test]
fn hostile_media_is_refused_and_the_controller_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::start(dir.path(), Broker::Embedded);
    let pr = controller.token_for("pr");

    let mut wrapping = 32u32.to_be_bytes().to_vec();
    wrapping.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
    wrapping.extend_from_slice(&1u32.to_be_bytes());
    wrapping.extend_from_slice(b"free");
    wrapping.extend_from_slice(&(u64::MAX - 31).to_be_bytes());
    assert_eq!(wrapping.len(), 48);
    for attempt in 1..=3 {
        let (status, answer) = upload_as(&controller, &pr, "clip.mp4", &wrapping);
        assert_eq!(status, 422, "attempt {attempt}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("damaged or incomplete"), "{error}");
        assert_healthy(&controller);
    }

    // A real PNG whose header claims 50,000 x 50,000 pixels (10 GB once decoded).
    let mut huge = test_png(1);
    huge[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let (status, answer) = upload_as(&controller, &pr, "poster.png", &huge);
    assert_eq!(status, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("50000x50000 pixels") && error.contains("at most 67.1 megapixels"),
        "{error}"
    );
    assert_healthy(&controller);

    let (blobs, incoming) = controller.stored_files();
    assert!(
        blobs.is_empty() && incoming.is_empty(),
        "{blobs:?} {incoming:?}"
    );
    // A sound file is accepted (and, from a pr account, waits for approval).
    let (status, answer) = upload_as(&controller, &pr, "poster.png", &test_png(1));
    assert_eq!(status, 202, "{answer}");
}

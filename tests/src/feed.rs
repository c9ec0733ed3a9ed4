//! A local stand-in for JMA's Atom feed (気象庁防災情報XML, PULL型): a minimal HTTP/1.1
//! server on an ephemeral port serving one feed and its documents, answering conditional
//! requests with 304, and noting when each document was served (for latency figures).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a local Atom feed serves: entries (id, updated, body), newest last.
#[derive(Default)]
pub struct FeedContent {
    pub entries: Vec<(String, String, String)>,
}

/// A minimal HTTP/1.1 server for one feed and its documents, answering conditional requests.
pub struct FeedServer {
    pub url: String,
    pub content: Arc<Mutex<FeedContent>>,
    /// Conditional requests answered 304.
    pub not_modified: Arc<AtomicU64>,
    /// When each document was last written to a client, by entry index.
    pub served_at: Arc<Mutex<Vec<Option<Instant>>>>,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
        let content: Arc<Mutex<FeedContent>> = Arc::default();
        let not_modified = Arc::new(AtomicU64::new(0));
        let served_at: Arc<Mutex<Vec<Option<Instant>>>> = Arc::default();
        let (c, n, s) = (content.clone(), not_modified.clone(), served_at.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (c, n, s) = (c.clone(), n.clone(), s.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request = String::new();
                    if reader.read_line(&mut request).is_err() {
                        return;
                    }
                    let mut if_none_match = None;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("if-none-match:") {
                            if_none_match = Some(v.trim().to_string());
                        }
                    }
                    let path = request.split(' ').nth(1).unwrap_or("/").to_string();
                    let (status, etag, body) = {
                        let content = c.lock().unwrap();
                        if path == "/feed.xml" {
                            let feed = atom(&content.entries);
                            let etag = format!("\"{}\"", &crate::sha256_hex(feed.as_bytes())[..16]);
                            if if_none_match.as_deref() == Some(etag.as_str()) {
                                n.fetch_add(1, Ordering::Relaxed);
                                (304, Some(etag), String::new())
                            } else {
                                (200, Some(etag), feed)
                            }
                        } else if let Some(i) = path
                            .strip_prefix("/docs/")
                            .and_then(|p| p.strip_suffix(".xml"))
                            .and_then(|i| i.parse::<usize>().ok())
                            .filter(|i| *i < content.entries.len())
                        {
                            (200, None, content.entries[i].2.clone())
                        } else {
                            (404, None, String::new())
                        }
                    };
                    let reason = match status {
                        200 => "OK",
                        304 => "Not Modified",
                        _ => "Not Found",
                    };
                    let mut head = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    if let Some(etag) = etag {
                        head.push_str(&format!("ETag: {etag}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                    let _ = stream.flush();
                    if let Some(i) = path
                        .strip_prefix("/docs/")
                        .and_then(|p| p.strip_suffix(".xml"))
                        .and_then(|i| i.parse::<usize>().ok())
                    {
                        let mut served = s.lock().unwrap();
                        if served.len() <= i {
                            served.resize(i + 1, None);
                        }
                        served[i] = Some(Instant::now());
                    }
                    let mut rest = Vec::new();
                    let _ = reader.read_to_end(&mut rest);
                });
            }
        });
        FeedServer {
            url,
            content,
            not_modified,
            served_at,
        }
    }

    /// Adds an entry whose document is `body`; returns its index.
    pub fn publish(&self, body: String) -> usize {
        let mut content = self.content.lock().unwrap();
        let n = content.entries.len();
        let updated = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        content
            .entries
            .push((format!("urn:uuid:e2e-{n}"), updated, body));
        n
    }
}

pub fn atom(entries: &[(String, String, String)]) -> String {
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" lang=\"ja\"><title>高頻度（随時）</title><id>urn:e2e</id>",
    );
    // JMA lists the newest first.
    for (i, (id, updated, _)) in entries.iter().enumerate().rev() {
        feed.push_str(&format!(
            "<entry><title>津波警報・注意報・予報a</title><id>{id}</id><updated>{updated}</updated><author><name>気象庁</name></author><link type=\"application/xml\" href=\"docs/{i}.xml\"/></entry>"
        ));
    }
    feed.push_str("</feed>");
    feed
}

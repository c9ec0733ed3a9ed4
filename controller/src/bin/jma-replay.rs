//! `jma-replay DIR --controller URL --token TOKEN [--now]`: posts a folder's JMA documents,
//! in file-name order, to `POST /api/v1/jma`, for drills and tests. With `--now` every time
//! in a document moves so that its report time is the moment it is sent: years-old samples
//! play as fresh documents (a 訓練 sample stays a drill).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Post a folder's JMA XML documents to a controller, in order"
)]
struct Args {
    /// A folder of .xml documents, or one document.
    dir: PathBuf,
    /// The controller's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    controller: String,
    /// An API token: one listed in alerts.jma.feed_tokens, or an admin's.
    #[arg(long, env = "SIGNAGE_TOKEN", hide_env_values = true)]
    token: String,
    /// Move each document's times so that it reads as reported now.
    #[arg(long)]
    now: bool,
    /// Seconds to wait between documents.
    #[arg(long, default_value_t = 0.0)]
    pause: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let files = match documents(&args.dir) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("no .xml documents in {}", args.dir.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", args.dir.display());
            return ExitCode::from(2);
        }
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let url = format!("{}/api/v1/jma", args.controller.trim_end_matches('/'));
    let mut failed = 0;
    for (i, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let body = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: cannot read: {e}");
                failed += 1;
                continue;
            }
        };
        let body = if args.now {
            match String::from_utf8(body)
                .map_err(|e| e.to_string())
                .and_then(|t| jma::shift::report_at(&t, chrono::Utc::now()))
            {
                Ok(t) => t.into_bytes(),
                Err(e) => {
                    eprintln!("{name}: cannot move to now: {e}");
                    failed += 1;
                    continue;
                }
            }
        } else {
            body
        };
        let answer = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", args.token))
            .header("Content-Type", "application/xml")
            .send(&body[..]);
        match answer {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if status == 200 {
                    println!(
                        "[{}/{}] {name}: {}{} — {}",
                        i + 1,
                        files.len(),
                        json["decision"].as_str().unwrap_or("?"),
                        json["alert_id"]
                            .as_str()
                            .map(|a| format!(" ({a})"))
                            .unwrap_or_default(),
                        json["reason"].as_str().unwrap_or_default()
                    );
                } else {
                    failed += 1;
                    eprintln!(
                        "[{}/{}] {name}: HTTP {status}: {}",
                        i + 1,
                        files.len(),
                        json["error"].as_str().unwrap_or(text.as_str())
                    );
                    if status == 401 || status == 403 {
                        return ExitCode::from(1);
                    }
                }
            }
            Err(e) => {
                eprintln!("{name}: cannot reach {url}: {e}");
                return ExitCode::from(1);
            }
        }
        if args.pause > 0.0 && i + 1 < files.len() {
            std::thread::sleep(Duration::from_secs_f64(args.pause));
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} documents were not taken", files.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn documents(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    files.sort();
    Ok(files)
}

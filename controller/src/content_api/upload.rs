//! `POST /api/v1/content`: the upload, read with the bounded multipart reader
//! ([`crate::library::multipart`]) straight into the content library, then probed.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use content::asset::{Asset, AssetKind, AssetMeta, MAX_TITLE_CHARS, MediaFile, Sha256};
use futures_util::StreamExt;
use serde_json::json;

use super::approval::{self, View};
use super::{MULTIPART_OVERHEAD, bad_request, check_id, store_locked, stored_asset};
use crate::auth::{self, Caller};
use crate::http::{ApiError, AppState};
use crate::library::probe::{self, MediaError};
use crate::library::{MediaType, Received, Upload, multipart};
use crate::store::{Blob, ObjectKind};
use content::changes::{Change, Object};

/// The part being read.
enum Field {
    None,
    File(Box<Upload>),
    /// The duration's text so far, and whether the file part came before it.
    Duration(Vec<u8>, bool),
    /// The file part was read; a second one is refused.
    FileDone,
}

impl Field {
    fn had_file(&self) -> bool {
        matches!(self, Field::FileDone | Field::Duration(_, true))
    }

    /// Ends the current part: the file is finished and checked, the duration parsed.
    async fn close(
        &mut self,
        received: &mut Option<Received>,
        duration_ms: &mut Option<u64>,
    ) -> Result<(), ApiError> {
        match std::mem::replace(self, Field::None) {
            Field::File(upload) => {
                let done = upload.finish().await.map_err(ApiError::internal)?;
                if done.size_bytes == 0 {
                    return Err(bad_request("the file is empty"));
                }
                sniffed(&done.head)?;
                *received = Some(done);
                *self = Field::FileDone;
            }
            Field::Duration(text, had_file) => {
                let text = String::from_utf8_lossy(&text);
                *duration_ms = Some(text.trim().parse().map_err(|_| {
                    bad_request(format!(
                        "duration_ms {text:?} is not a whole number of milliseconds"
                    ))
                })?);
                if had_file {
                    *self = Field::FileDone;
                }
            }
            Field::FileDone => *self = Field::FileDone,
            Field::None => {}
        }
        Ok(())
    }
}

/// A reader event with its bytes copied out, to act on across awaits.
enum Owned {
    Part {
        name: String,
        file_name: Option<String>,
    },
    Data(Vec<u8>),
    End,
}

impl From<multipart::Event<'_>> for Owned {
    fn from(event: multipart::Event) -> Owned {
        match event {
            multipart::Event::Part { name, file_name } => Owned::Part { name, file_name },
            multipart::Event::Data(bytes) => Owned::Data(bytes.to_vec()),
            multipart::Event::End => Owned::End,
        }
    }
}

/// A file received, checked, stored in the library and audited.
struct Stored {
    sha256: Sha256,
    size_bytes: u64,
    media: MediaType,
    duration_ms: Option<u64>,
    /// The name the file was sent with (empty when none).
    title: String,
    /// The content-write lock, held until the asset is stored.
    _writing: tokio::sync::OwnedMutexGuard<()>,
}

/// Reads a multipart upload with the file in field `file` and, for videos whose length
/// cannot be probed (WebM), an optional field `duration_ms`, into the library. Images and
/// videos larger than players decode are refused with 422 (see [`probe::inspect`]).
async fn receive(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<Stored, ApiError> {
    let limit = state.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file exceeds the upload limit of {limit} bytes (content.max_upload_bytes in the controller configuration)"
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + MULTIPART_OVERHEAD) {
        return Err(too_large());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multipart::boundary(content_type).map_err(|e| bad_request(e.to_string()))?;
    let malformed = |e: multipart::MultipartError| {
        bad_request(format!(
            "the upload is incomplete or malformed ({e}); send the whole file again"
        ))
    };
    let mut reader = multipart::Reader::new(&boundary);
    let mut stream = body.into_data_stream();
    let mut field = Field::None;
    let mut received = None;
    let mut duration_ms: Option<u64> = None;
    let mut title = String::new();
    let mut read: u64 = 0;
    while !reader.is_done() {
        let chunk = match stream.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                return Err(bad_request(format!(
                    "the upload is incomplete or malformed ({e}); send the whole file again"
                )));
            }
            None => {
                reader.finish().map_err(malformed)?;
                break;
            }
        };
        read += chunk.len() as u64;
        if read > limit + MULTIPART_OVERHEAD {
            return Err(too_large());
        }
        let mut events = Vec::new();
        reader
            .push(&chunk, &mut |event| {
                events.push(Owned::from(event));
                Ok(())
            })
            .map_err(malformed)?;
        for event in events {
            match event {
                Owned::Part { name, file_name } => {
                    field.close(&mut received, &mut duration_ms).await?;
                    field = match name.as_str() {
                        "file" if !field.had_file() => {
                            if let Some(name) = &file_name {
                                check_file_name(name)?;
                                title = name.clone();
                            }
                            Field::File(Box::new(
                                state
                                    .library
                                    .begin_upload()
                                    .await
                                    .map_err(ApiError::internal)?,
                            ))
                        }
                        "file" => {
                            return Err(bad_request("send exactly one field named \"file\""));
                        }
                        "duration_ms" => Field::Duration(Vec::new(), field.had_file()),
                        other => {
                            return Err(bad_request(format!(
                                "unexpected field {:?}; send the file in field \"file\" (and optionally duration_ms)",
                                other.chars().take(80).collect::<String>()
                            )));
                        }
                    };
                }
                Owned::Data(bytes) => match &mut field {
                    Field::File(upload) => {
                        if upload.size() + bytes.len() as u64 > limit {
                            return Err(too_large());
                        }
                        upload.write(&bytes).await.map_err(ApiError::internal)?;
                        if upload.head().len() >= MediaType::SNIFF_BYTES {
                            sniffed(upload.head())?;
                        }
                    }
                    Field::Duration(text, _) => {
                        text.extend_from_slice(&bytes);
                        if text.len() > 20 {
                            return Err(bad_request(
                                "duration_ms is a whole number of milliseconds",
                            ));
                        }
                    }
                    Field::None | Field::FileDone => {}
                },
                Owned::End => field.close(&mut received, &mut duration_ms).await?,
            }
        }
    }
    let Some(received) = received else {
        return Err(bad_request(
            "no file: send it as multipart/form-data in field \"file\"",
        ));
    };
    let media = sniffed(&received.head)?;
    // Off the async workers: it reads the file (a bounded amount, but from disk).
    let path = received.path().to_path_buf();
    let info = tokio::task::spawn_blocking(move || {
        probe::inspect(media, std::io::BufReader::new(std::fs::File::open(path)?))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        MediaError::Io(e) => ApiError::internal(e),
        refused => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string()),
    })?;
    duration_ms = duration_ms.or(info.duration_ms);
    let sha256 = received.sha256.clone();
    let size_bytes = received.size_bytes;
    // Held until the caller has stored the asset (see `AppState::content_writes`).
    let writing = state.content_writes.clone().lock_owned().await;
    let library = state.library.clone();
    tokio::task::spawn_blocking(move || received.store(&library))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state
        .store
        .insert_blob(&Blob {
            sha256: sha256.to_string(),
            size_bytes,
            media_type: media.mime().into(),
        })
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            "content.upload",
            Some(&sha256.to_string()),
            "ok",
            Some(json!({ "bytes": size_bytes, "media_type": media.mime() })),
        )
        .await;
    Ok(Stored {
        sha256,
        size_bytes,
        media,
        duration_ms,
        title: title.chars().take(MAX_TITLE_CHARS).collect(),
        _writing: writing,
    })
}

/// The file's asset kind.
fn kind_of(stored: &Stored) -> AssetKind {
    let file = MediaFile {
        sha256: stored.sha256.clone(),
        size_bytes: stored.size_bytes,
    };
    if stored.media.is_video() {
        AssetKind::Video {
            file,
            duration_ms: stored.duration_ms,
        }
    } else {
        AssetKind::Image { file }
    }
}

/// `POST /api/v1/content`: the upload (see [`receive`]) becomes an asset whose id is the
/// file's SHA-256, titled with the file's name; the same bytes again answer the same asset.
pub(super) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    let stored = receive(&state, &caller, &headers, body).await?;
    let Stored {
        sha256,
        size_bytes,
        media,
        duration_ms,
        ..
    } = &stored;

    let asset = Asset {
        id: sha256.to_string().as_str().into(),
        // Staff find their poster by the name they gave the file (editable later).
        meta: AssetMeta {
            title: stored.title.clone(),
            ..AssetMeta::default()
        },
        kind: kind_of(&stored),
    };
    let view = View::of(&state, &caller).await?;
    let duplicate = view.parts.assets.iter().any(|a| a.id == asset.id);
    tracing::info!(%sha256, size_bytes, media_type = media.mime(), duplicate, "content uploaded");
    let body = json!({
        "id": asset.id,
        "sha256": sha256,
        "size_bytes": size_bytes,
        "media_type": media.mime(),
        "kind": if media.is_video() { "video" } else { "image" },
        "duration_ms": duration_ms,
        "duplicate": duplicate,
        "url": crate::manifest::content_path(&sha256.to_string()),
    });
    if duplicate {
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    if view.change.is_some() {
        let change = Change::Put {
            object: Object::Asset(asset),
        };
        return approval::propose(&state, &caller, view, change, "asset.create", body).await;
    }
    let created = state
        .store
        .put_object(ObjectKind::Asset, &asset.id.0, &asset, true)
        .await
        .map_err(ApiError::internal)?
        .is_some();
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(body)).into_response())
}

/// `PUT /api/v1/assets/{id}/file`: a new file for an image or video asset (a corrected
/// poster), keeping its id, title, tags, window and every playlist that plays it.
pub(super) async fn replace_file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(auth::CONTENT)?;
    check_id(&id)?;
    let mut asset = stored_asset(&state, &caller, &id).await?;
    if asset.file().is_none() {
        return Err(bad_request(
            "a text slide or ticker has no file; change its words with PUT /api/v1/assets/{id}",
        ));
    }
    let stored = receive(&state, &caller, &headers, body).await?;
    asset.kind = kind_of(&stored);
    store_locked(&state, &caller, &asset, false).await
}

fn sniffed(head: &[u8]) -> Result<MediaType, ApiError> {
    MediaType::sniff(head).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the file is not a PNG, JPEG, MP4/QuickTime or WebM/Matroska file (recognised from its first bytes, not its name); convert it and upload again",
        )
    })
}

/// The name is only informative (files are stored by hash), but a name with a path in it
/// signals a broken or hostile client: refuse it rather than guess.
fn check_file_name(name: &str) -> Result<(), ApiError> {
    let bad = name.contains('/')
        || name.contains('\\')
        || name.contains("..")
        || name.chars().any(char::is_control)
        || name.len() > 255;
    if bad {
        return Err(bad_request(format!(
            "file name {:?} is refused: send a plain file name without directories or \"..\"",
            name.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

//! Report export for BI tools: CSV (UTF-8, optional BOM for Excel) and Parquet.
//! Datetimes are Asia/Tokyo local time, written as `YYYY-MM-DDTHH:MM:SS`.

use std::path::Path;

use polars::prelude::*;

use crate::store::{self, StoreError};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    /// CSV with a UTF-8 byte-order mark, so Excel shows Japanese text correctly.
    CsvExcel,
    Parquet,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// Encodes a report frame (for an HTTP response body).
pub fn to_bytes(df: &mut DataFrame, format: Format) -> PolarsResult<Vec<u8>> {
    let mut buf = Vec::new();
    match format {
        Format::Csv | Format::CsvExcel => {
            CsvWriter::new(&mut buf)
                .include_bom(format == Format::CsvExcel)
                .include_header(true)
                .with_datetime_format(Some("%Y-%m-%dT%H:%M:%S".into()))
                .finish(df)?;
        }
        Format::Parquet => {
            ParquetWriter::new(&mut buf)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)?;
        }
    }
    Ok(buf)
}

/// Writes a report frame to `path` durably (temporary file, fsync, rename).
pub fn write(df: &mut DataFrame, format: Format, path: &Path) -> Result<(), StoreError> {
    let bytes = to_bytes(df, format)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"),
        })?;
    store::write_bytes_durable(dir, name, &bytes)
}

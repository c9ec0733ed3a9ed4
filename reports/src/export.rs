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
                .finish(&mut escape_formulas(df)?)?;
        }
        Format::Parquet => {
            ParquetWriter::new(&mut buf)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(df)?;
        }
    }
    Ok(buf)
}

/// Text cells a spreadsheet would run as a formula (`= + - @`, and tab or carriage return
/// that some treat alike) get a leading `'`: names in reports come from players' cameras and
/// staff, and an export must not become a command when an analyst opens it.
fn escape_formulas(df: &DataFrame) -> PolarsResult<DataFrame> {
    let risky = |s: &str| s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let columns = df
        .columns()
        .iter()
        .map(|column| {
            if column.dtype() != &DataType::String {
                return Ok(column.clone());
            }
            let escaped: StringChunked = column
                .str()?
                .iter()
                .map(|cell| {
                    cell.map(|s| {
                        if risky(s) {
                            format!("'{s}")
                        } else {
                            s.to_string()
                        }
                    })
                })
                .collect();
            Ok(escaped.with_name(column.name().clone()).into_column())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(df.height(), columns)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_start_a_formula_are_escaped_and_numbers_are_not() {
        let mut df = df!(
            "zone" => ["=HYPERLINK(\"http://x\")", "+1", "-sum", "@a", "lobby", "\tx"],
            "count" => [-1i64, 2, 3, 4, 5, 6],
        )
        .unwrap();
        let csv = String::from_utf8(to_bytes(&mut df, Format::Csv).unwrap()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",-1");
        assert_eq!(lines[2], "'+1,2");
        assert_eq!(lines[3], "'-sum,3");
        assert_eq!(lines[4], "'@a,4");
        assert_eq!(lines[5], "lobby,5");
        assert!(
            lines[6].starts_with("'\tx") || lines[6].starts_with("\"'\tx"),
            "{csv}"
        );
    }
}

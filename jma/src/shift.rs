//! Moving a document in time, for drills and tests: every `xs:dateTime` in it moves by the
//! same amount, so that its report time becomes a chosen instant and years-old samples play
//! as fresh documents (their arrival times, validity and order keep their meaning).

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

/// `text` with every date-time moved so that `Head/ReportDateTime` becomes `at`; each keeps
/// its own offset (`Z` or `+09:00`). Fails when the document has no report time.
pub fn report_at(text: &str, at: DateTime<Utc>) -> Result<String, String> {
    let reported = report_time(text)
        .ok_or("no <ReportDateTime> in the document: cannot tell how far to move it")?;
    Ok(shift(text, at - reported))
}

/// `text` with every `xs:dateTime` (YYYY-MM-DDThh:mm:ss, optional fraction, `Z` or ±hh:mm)
/// moved by `by`; everything else is left byte for byte.
pub fn shift(text: &str, by: TimeDelta) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, len, t)) = next_datetime(rest) {
        out.push_str(&rest[..start]);
        let moved = t + by;
        let written = if rest[start..start + len].ends_with('Z') {
            moved
                .with_timezone(&Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        } else {
            moved.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        };
        out.push_str(&written);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

fn report_time(text: &str) -> Option<DateTime<Utc>> {
    let at = text.find("<ReportDateTime>")? + "<ReportDateTime>".len();
    let (start, len, t) = next_datetime(&text[at..])?;
    (start == 0 && len > 0).then(|| t.with_timezone(&Utc))
}

/// The first date-time in `s`: its byte offset, length and value.
fn next_datetime(s: &str) -> Option<(usize, usize, DateTime<FixedOffset>)> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(t) = s[from..].find('T').map(|i| i + from) {
        from = t + 1;
        if t < 10 {
            continue;
        }
        let start = t - 10;
        let digits =
            |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
        let shape = digits(start..start + 4)
            && b[start + 4] == b'-'
            && digits(start + 5..start + 7)
            && b[start + 7] == b'-'
            && digits(start + 8..start + 10)
            && digits(t + 1..t + 3)
            && b.get(t + 3) == Some(&b':')
            && digits(t + 4..t + 6)
            && b.get(t + 6) == Some(&b':')
            && digits(t + 7..t + 9);
        if !shape || (start > 0 && b[start - 1].is_ascii_digit()) {
            continue;
        }
        let mut end = t + 9;
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        let zone_end = match b.get(end) {
            Some(b'Z') => end + 1,
            Some(b'+' | b'-')
                if digits(end + 1..end + 3)
                    && b.get(end + 3) == Some(&b':')
                    && digits(end + 4..end + 6) =>
            {
                end + 6
            }
            _ => continue,
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(&s[start..zone_end]) {
            return Some((start, zone_end - start, t));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_time_moves_by_the_same_amount_keeping_its_zone() {
        let doc = "<Report><Control><DateTime>2011-03-11T05:46:00Z</DateTime></Control>\
            <Head><ReportDateTime>2011-03-11T14:49:00+09:00</ReportDateTime>\
            <EventID>20110311144640</EventID></Head>\
            <Body><ArrivalTime>2011-03-11T15:00:00+09:00</ArrivalTime>\
            <Text>2011-03-11 not a time; 12:00:00 neither</Text></Body></Report>";
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+09:00")
            .unwrap()
            .with_timezone(&Utc);
        let moved = report_at(doc, at).unwrap();
        assert!(
            moved.contains("<ReportDateTime>2026-12-07T10:00:00+09:00<"),
            "{moved}"
        );
        assert!(moved.contains("<DateTime>2026-12-07T00:57:00Z<"), "{moved}");
        assert!(
            moved.contains("<ArrivalTime>2026-12-07T10:11:00+09:00<"),
            "{moved}"
        );
        // Ids and prose are left alone.
        assert!(moved.contains("<EventID>20110311144640<"));
        assert!(moved.contains("2011-03-11 not a time; 12:00:00 neither"));
        assert!(report_at("<Report/>", at).is_err());
    }
}

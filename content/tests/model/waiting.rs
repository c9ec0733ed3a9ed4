//! The public waiting page's words: bands, the head count a visitor may see, and today's
//! outlook (usual hours, busiest hours, the best hour still ahead).

use content::waiting::{Band, band, outlook, published_people};

use crate::support::daypart;

#[test]
fn bands_follow_the_share_of_capacity_and_unknown_stays_unknown() {
    assert_eq!(band(None, 20), Band::Unknown);
    assert_eq!(band(Some(0.0), 20), Band::Quiet);
    assert_eq!(band(Some(5.9), 20), Band::Quiet);
    assert_eq!(band(Some(6.0), 20), Band::Moderate);
    assert_eq!(band(Some(13.9), 20), Band::Moderate);
    assert_eq!(band(Some(14.0), 20), Band::Busy);
    assert_eq!(
        band(Some(3.0), 0),
        Band::Busy,
        "a zero capacity counts as one"
    );
}

#[test]
fn a_head_count_is_published_only_from_the_minimum_and_rounded_down_to_five() {
    for people in 0..5 {
        assert_eq!(published_people(people, 5), None, "{people}");
    }
    assert_eq!(published_people(5, 5), Some(5));
    assert_eq!(published_people(9, 5), Some(5));
    assert_eq!(published_people(23, 5), Some(20));
    assert_eq!(published_people(0, 0), None, "never a zero minimum");
    assert_eq!(published_people(1, 0), Some(0));
}

fn usual(pairs: &[(u32, f64)]) -> [Option<f64>; 24] {
    let mut hours = [None; 24];
    for &(h, p) in pairs {
        hours[h as usize] = Some(p);
    }
    hours
}

#[test]
fn the_outlook_names_busy_hours_and_the_quietest_hour_still_ahead() {
    let history = usual(&[
        (8, 2.0),
        (9, 15.0),
        (10, 18.0),
        (11, 16.0),
        (12, 8.0),
        (13, 14.5),
        (14, 6.0),
        (15, 3.0),
        (16, 4.0),
        (17, 1.0),
    ]);
    let hours = daypart("08:45", "17:30");
    let today = outlook(&history, 20, Some(&hours), 9);
    let shown: Vec<u32> = today.hours.iter().map(|h| h.hour).collect();
    assert_eq!(
        shown,
        (8..=17).collect::<Vec<_>>(),
        "08:45 opens the 8 o'clock hour"
    );
    assert_eq!(today.hours[2].band, Band::Busy);
    assert_eq!(
        today.busy_hours,
        [9, 10, 11],
        "the three busiest of the busy hours"
    );
    assert_eq!(today.best_hour, Some(17), "the quietest hour from now on");
    let afternoon = outlook(&history, 20, Some(&hours), 16);
    assert_eq!(afternoon.best_hour, Some(17));
    let late = outlook(&history, 20, Some(&hours), 18);
    assert_eq!(late.best_hour, None, "nothing left today");
}

#[test]
fn closed_days_and_empty_history_promise_nothing() {
    let history = usual(&[(10, 18.0)]);
    let closed = outlook(&history, 20, None, 10);
    assert!(closed.hours.is_empty() && closed.busy_hours.is_empty() && closed.best_hour.is_none());
    let hours = daypart("09:00", "17:30");
    let empty = outlook(&[None; 24], 20, Some(&hours), 9);
    assert!(empty.hours.iter().all(|h| h.band == Band::Unknown));
    assert!(empty.busy_hours.is_empty() && empty.best_hour.is_none());
    let quiet = outlook(&usual(&[(9, 1.0), (10, 2.0)]), 20, Some(&hours), 9);
    assert!(quiet.busy_hours.is_empty(), "a quiet day has no busy hours");
    assert_eq!(quiet.best_hour, Some(9));
}

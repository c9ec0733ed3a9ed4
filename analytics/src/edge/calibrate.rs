//! The installer's picture: one frame of the input with the configured lines (and an
//! arrow pointing the `in` way) and zones drawn on it, written to a local PNG.
//!
//! This is the only place a frame is ever written, and only on the installer's request.

use std::path::Path;

use opencv::core::{self, Mat, Point as CvPoint, Scalar, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};

use crate::counting::{NamedLine, NamedZone, check_inside_frame};
use crate::geometry::Point;

use super::pipeline::PipelineError;
use super::source::{FrameSource, Input, PixelFormat, SourceOptions};

/// The unit vector perpendicular to A->B pointing to the side a person walks to when
/// crossing `in`: the side where `cross(B - A, P - A) < 0`.
pub fn in_direction(a: Point, b: Point) -> Point {
    let d = b - a;
    let n = Point::new(d.y, -d.x);
    n * (1.0 / d.length())
}

/// Draws `lines` and `zones` on frame `frame_index` of `input` and writes `out` (PNG).
/// Returns the frame's size.
pub fn calibrate(
    input: &Input,
    lines: &[NamedLine],
    zones: &[NamedZone],
    frame_index: u64,
    out: &Path,
) -> Result<(u32, u32), PipelineError> {
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(PipelineError::Detector(format!(
            "{}: the calibration picture is written as PNG; give a file name ending in .png",
            out.display()
        )));
    }
    let mut source = FrameSource::open(
        input,
        SourceOptions {
            format: PixelFormat::Bgr,
            width: None,
        },
    )?;
    let (width, height) = source.native_size();
    check_inside_frame(lines, zones, width as f32, height as f32)
        .map_err(PipelineError::OutsideFrame)?;
    let mut picked = None;
    while let Some(frame) = source.next_frame()? {
        let last = frame.index >= frame_index;
        picked = Some(frame);
        if last {
            break;
        }
    }
    let frame = picked.expect("the source has at least one frame");
    let cv = |e: opencv::Error| PipelineError::Detector(e.message);
    let mut image = frame.mat().and_then(|m| m.try_clone()).map_err(cv)?;
    draw(&mut image, lines, zones).map_err(cv)?;
    let written = imgcodecs::imwrite(out, &image, &Vector::new()).map_err(cv)?;
    if !written {
        return Err(PipelineError::Detector(format!(
            "could not write {}; check that its folder exists and is writable",
            out.display()
        )));
    }
    Ok((frame.width, frame.height))
}

fn cv_point(p: Point) -> CvPoint {
    CvPoint::new(p.x.round() as i32, p.y.round() as i32)
}

/// Draws zones (tinted, outlined, named) and lines (with an `in` arrow) onto a BGR image.
pub fn draw(image: &mut Mat, lines: &[NamedLine], zones: &[NamedZone]) -> opencv::Result<()> {
    let zone_colour = Scalar::new(0.0, 200.0, 255.0, 0.0);
    let line_colour = Scalar::new(255.0, 80.0, 0.0, 0.0);
    let arrow_colour = Scalar::new(0.0, 220.0, 0.0, 0.0);
    let font = imgproc::FONT_HERSHEY_SIMPLEX;
    let scale = (f64::from(image.rows()) / 480.0).max(0.5);
    let thickness = (2.0 * scale).round() as i32;
    let label = |image: &mut Mat, text: &str, at: CvPoint, colour: Scalar| {
        imgproc::put_text(
            image,
            text,
            at,
            font,
            0.6 * scale,
            Scalar::all(0.0),
            thickness + 2,
            imgproc::LINE_AA,
            false,
        )?;
        imgproc::put_text(
            image,
            text,
            at,
            font,
            0.6 * scale,
            colour,
            thickness.max(1),
            imgproc::LINE_AA,
            false,
        )
    };

    // Each zone's outline, built once for the tint and for the border.
    let outlines: Vec<Vector<Vector<CvPoint>>> = zones
        .iter()
        .map(|zone| {
            let corners: Vector<CvPoint> = zone
                .polygon
                .vertices()
                .iter()
                .map(|&p| cv_point(p))
                .collect();
            let mut polys = Vector::<Vector<CvPoint>>::new();
            polys.push(corners);
            polys
        })
        .collect();
    let mut tint = image.try_clone()?;
    for polys in &outlines {
        imgproc::fill_poly(
            &mut tint,
            polys,
            zone_colour,
            imgproc::LINE_AA,
            0,
            CvPoint::default(),
        )?;
    }
    let base = image.try_clone()?;
    core::add_weighted(&base, 0.7, &tint, 0.3, 0.0, image, -1)?;
    for (zone, polys) in zones.iter().zip(&outlines) {
        imgproc::polylines(
            image,
            polys,
            true,
            zone_colour,
            thickness,
            imgproc::LINE_AA,
            0,
        )?;
        let first = zone.polygon.vertices()[0];
        label(
            image,
            &zone.name,
            cv_point(first + Point::new(4.0, 18.0 * scale as f32)),
            zone_colour,
        )?;
    }
    for line in lines {
        let (a, b) = (line.segment.a(), line.segment.b());
        imgproc::line(
            image,
            cv_point(a),
            cv_point(b),
            line_colour,
            thickness,
            imgproc::LINE_AA,
            0,
        )?;
        imgproc::circle(
            image,
            cv_point(a),
            thickness * 2,
            line_colour,
            -1,
            imgproc::LINE_AA,
            0,
        )?;
        label(image, "A", cv_point(a + Point::new(6.0, -6.0)), line_colour)?;
        label(image, "B", cv_point(b + Point::new(6.0, -6.0)), line_colour)?;
        let mid = (a + b) * 0.5;
        let arrow = (b - a).length().clamp(30.0, 80.0) * 0.6;
        let tip = mid + in_direction(a, b) * arrow;
        imgproc::arrowed_line(
            image,
            cv_point(mid),
            cv_point(tip),
            arrow_colour,
            thickness,
            imgproc::LINE_AA,
            0,
            0.3,
        )?;
        label(
            image,
            &format!("{} in", line.name),
            cv_point(tip + Point::new(4.0, 4.0)),
            arrow_colour,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_arrow_points_to_the_negative_side() {
        // The example: A=(240,120), B=(240,360); walking towards larger x is `in`.
        let n = in_direction(Point::new(240.0, 120.0), Point::new(240.0, 360.0));
        assert_eq!((n.x, n.y), (1.0, 0.0));
        let seg = crate::Segment::new(Point::new(10.0, 20.0), Point::new(200.0, 90.0)).unwrap();
        let mid = (seg.a() + seg.b()) * 0.5;
        let n = in_direction(seg.a(), seg.b());
        assert!(seg.side(mid + n * 5.0) < 0.0 && seg.side(mid - n * 5.0) > 0.0);
    }
}

//! The synthetic camera: a scripted [`Scene`] drawn as person-like figures on a textured
//! background and pushed into GStreamer through an `appsrc`, so that the whole edge path
//! (pipeline, scaling, detector, tracker, counters) runs on frames whose truth is known
//! exactly. Optionally the light changes gradually over the scene and pixel noise is
//! added, to test the motion detector's robustness.

use std::str::FromStr;

use gstreamer as gst;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::geometry::{BBox, Point};
use crate::synthetic::{Scene, Walker};

/// A named scripted scene plus rendering options.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticCamera {
    name: String,
    scene: Scene,
    width: u32,
    height: u32,
    lighting: bool,
    noise: u8,
}

/// Scene names accepted after `synthetic:`.
pub const SCENE_NAMES: [&str; 3] = ["crossings", "walk", "crowd"];

/// The counting line the named scenes are scripted around: `door:320,100,320,460`.
pub const DOOR_LINE: &str = "door:320,100,320,460";
/// A zone right of the door: `right:330,120,620,120,620,470,330,470`.
pub const RIGHT_ZONE: &str = "right:330,120,620,120,620,470,330,470";

impl FromStr for SyntheticCamera {
    type Err = String;

    /// `NAME[,lighting][,noise=N]`, e.g. `crossings,lighting,noise=6`.
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut parts = spec.split(',').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let scene = match name {
            "crossings" => crossings(),
            "crowd" => crowd(),
            "walk" => Scene::new(15.0).with_walker(
                Walker::new(1, Point::new(60.0, 300.0))
                    .speed(90.0)
                    .walk_to(Point::new(580.0, 300.0)),
            ),
            _ => {
                return Err(format!(
                    "unknown synthetic scene `{name}`; choose one of {}",
                    SCENE_NAMES.join(", ")
                ));
            }
        };
        let mut camera = Self {
            name: spec.to_owned(),
            scene,
            width: 640,
            height: 480,
            lighting: false,
            noise: 0,
        };
        for option in parts {
            if option == "lighting" {
                camera.lighting = true;
            } else if let Some(n) = option.strip_prefix("noise=") {
                camera.noise = n
                    .parse()
                    .map_err(|_| format!("`noise={n}`: give a whole number from 0 to 255"))?;
            } else {
                return Err(format!(
                    "unknown synthetic option `{option}`; use `lighting` or `noise=N`"
                ));
            }
        }
        Ok(camera)
    }
}

/// Everything the line and zone tests need, one case after the other at 15 frames/s,
/// 90 px/s, around the vertical line x = 320 from y = 100 to y = 460 (A above B, so
/// left to right is `in`):
/// 1. one person left to right (in); 2. one right to left (out);
/// 3. one stopping on the line for 1.5 s, then going on (in);
/// 4. one dithering across the line, then going back (nothing);
/// 5. two side by side, walking together (2 in);
/// 6. two close one behind the other, their figures merging into one blob (2 in).
fn crossings() -> Scene {
    let w = |id, x: f32, y: f32, start: f64| {
        Walker::new(id, Point::new(x, y))
            .speed(90.0)
            .starting_at(start)
    };
    Scene::new(15.0)
        .with_walker(w(1, 60.0, 300.0, 0.0).walk_to(Point::new(580.0, 300.0)))
        .with_walker(w(2, 580.0, 420.0, 6.0).walk_to(Point::new(60.0, 420.0)))
        .with_walker(
            w(3, 60.0, 250.0, 12.0)
                .walk_to(Point::new(320.0, 250.0))
                .pause(1.5)
                .walk_to(Point::new(580.0, 250.0)),
        )
        .with_walker(
            w(4, 60.0, 380.0, 19.5)
                .walk_to(Point::new(314.0, 380.0))
                .back_and_forth(Point::new(12.0, 0.0), 4)
                .walk_to(Point::new(60.0, 380.0)),
        )
        .with_walker(w(5, 60.0, 230.0, 28.0).walk_to(Point::new(580.0, 230.0)))
        .with_walker(w(6, 60.0, 400.0, 28.0).walk_to(Point::new(580.0, 400.0)))
        .with_walker(w(7, 60.0, 320.0, 35.0).walk_to(Point::new(580.0, 320.0)))
        .with_walker(w(8, 20.0, 320.0, 35.0).walk_to(Point::new(540.0, 320.0)))
}

/// A waiting hall filling up and emptying, for the audience-rules demo (about 3 minutes at
/// 15 frames/s). The hall is empty for 15 s; then one person every 5 s walks in from the
/// left edge to a spot of a 4 x 3 grid (the farthest spot of a row first, so nobody walks
/// through anybody) and paces back and forth there, ±60 px at about walking speed. From
/// 125 s they leave the way they came, the last to arrive first, one every 4 s; then 15 s of
/// empty hall. Occupancy of the whole frame: 0, rising to 12 at about 76 s, back to 0 at
/// about 175 s.
///
/// Why pacing, and why so wide: a background model learns within seconds whatever covers
/// a pixel much of the time, so a person standing still, or swaying on the spot, melts into
/// it and the motion detector loses them. Pacing people are still partly learnt, but are
/// seen again at least every second or two, which the tracker and zone counter bridge.
/// Each person keeps to their own stretch of floor, with 40 px of floor between rows, so
/// that blobs of different rows never merge.
fn crowd() -> Scene {
    /// Spot centres: columns (farthest from the door first) and rows (the feet's y).
    const COLUMNS: [f32; 4] = [560.0, 400.0, 240.0, 80.0];
    const ROWS: [f32; 3] = [170.0, 310.0, 450.0];
    const SWING: f32 = 60.0;
    const WALK: f64 = 90.0;
    const PACE: f64 = 60.0;
    let mut scene = Scene::new(15.0);
    for i in 0..12u32 {
        let (x, y) = (COLUMNS[(i / 3) as usize], ROWS[(i % 3) as usize]);
        let arrive = 15.0 + 5.0 * f64::from(i);
        let leave = 125.0 + 4.0 * f64::from(11 - i);
        let door = Point::new(-25.0, y);
        let far = Point::new(x + SWING, y);
        // Walk in to the far end of the spot, then pace between its ends until it is time
        // to go, at whatever speed near `PACE` makes the turns fit exactly.
        let pacing = leave - arrive - f64::from(far.x - door.x) / WALK;
        let lap = f64::from(4.0 * SWING);
        let laps = (pacing * PACE / lap).round().max(1.0);
        scene = scene.with_walker(
            Walker::new(u64::from(i) + 1, door)
                .speed(WALK)
                .starting_at(arrive)
                .walk_to(far)
                .speed(laps * lap / pacing)
                .back_and_forth(Point::new(-2.0 * SWING, 0.0), laps as u32)
                .speed(WALK)
                .walk_to(door),
        );
    }
    // The empty hall at the end: a walker outside the frame keeps the scene going.
    scene.with_walker(
        Walker::new(99, Point::new(-200.0, 300.0))
            .starting_at(190.0)
            .pause(0.1),
    )
}

impl SyntheticCamera {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Draws frame `index` as BGR pixels, rows without padding.
    pub fn render(&self, index: u64) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let frame = self.scene.frame(index);
        let duration = self.scene.frame_count().max(2) as f64 - 1.0;
        // Light drifts from 75 % to 125 % over the scene: far more than a real room's
        // daylight, far slower than a person moving.
        let gain = if self.lighting {
            0.75 + 0.5 * index as f64 / duration
        } else {
            1.0
        };
        let mut pixels = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                // Static texture: a floor of tiles with gently varying shade.
                let tile = ((x / 40 + y / 40) % 2) as f64 * 12.0;
                let v = 130.0 + tile + ((x * 7 + y * 13) % 17) as f64;
                let i = (y * w + x) * 3;
                pixels[i] = v as u8;
                pixels[i + 1] = v as u8;
                pixels[i + 2] = (v * 0.95) as u8;
            }
        }
        for person in &frame.people {
            draw_person(&mut pixels, w, h, person.bbox, person.id.0);
        }
        let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03);
        for p in pixels.iter_mut() {
            let mut v = f64::from(*p) * gain;
            if self.noise > 0 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let n = i32::from(self.noise);
                v += f64::from((rng % (2 * n as u64 + 1)) as i32 - n);
            }
            *p = v.clamp(0.0, 255.0) as u8;
        }
        pixels
    }

    /// An `appsrc` that renders and pushes the scene's frames, then ends the stream.
    pub(crate) fn app_src(&self) -> gst_app::AppSrc {
        let info =
            gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgr, self.width, self.height)
                .fps(
                    gst::Fraction::approximate_f64(self.scene.fps())
                        .unwrap_or(gst::Fraction::new(15, 1)),
                )
                .build()
                .expect("valid synthetic video info");
        let src = gst_app::AppSrc::builder()
            .caps(&info.to_caps().expect("caps from video info"))
            .format(gst::Format::Time)
            .build();
        let camera = self.clone();
        let frames = self.scene.frame_count();
        let fps = self.scene.fps();
        let mut next = 0u64;
        src.set_callbacks(
            gst_app::AppSrcCallbacks::builder()
                .need_data(move |src, _| {
                    if next >= frames {
                        let _ = src.end_of_stream();
                        return;
                    }
                    let mut buffer = gst::Buffer::from_mut_slice(camera.render(next));
                    {
                        let buffer = buffer.get_mut().expect("a new buffer is writable");
                        let ns = |i: u64| (i as f64 / fps * 1e9).round() as u64;
                        buffer.set_pts(gst::ClockTime::from_nseconds(ns(next)));
                        buffer.set_duration(gst::ClockTime::from_nseconds(ns(next + 1) - ns(next)));
                    }
                    next += 1;
                    let _ = src.push_buffer(buffer);
                })
                .build(),
        );
        src
    }
}

/// A dark figure filling `bbox` horizontally from 10 % to 90 %: head, torso and two legs,
/// its feet on the box's bottom edge.
fn draw_person(pixels: &mut [u8], w: usize, h: usize, bbox: BBox, id: u64) {
    let colours: [[u8; 3]; 4] = [[60, 40, 120], [120, 60, 40], [40, 90, 50], [70, 70, 70]];
    let skin = [80, 100, 150];
    let cloth = colours[(id as usize) % colours.len()];
    let rect = |pixels: &mut [u8], x0: f32, y0: f32, x1: f32, y1: f32, c: [u8; 3]| {
        let (x0, x1) = (
            x0.round().max(0.0) as usize,
            (x1.round().max(0.0) as usize).min(w),
        );
        let (y0, y1) = (
            y0.round().max(0.0) as usize,
            (y1.round().max(0.0) as usize).min(h),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let i = (y * w + x) * 3;
                pixels[i..i + 3].copy_from_slice(&c);
            }
        }
    };
    let BBox { x, y, w: bw, h: bh } = bbox;
    // Head: a rounded block of skin colour.
    rect(pixels, x + 0.3 * bw, y, x + 0.7 * bw, y + 0.18 * bh, skin);
    rect(
        pixels,
        x + 0.25 * bw,
        y + 0.03 * bh,
        x + 0.75 * bw,
        y + 0.15 * bh,
        skin,
    );
    rect(
        pixels,
        x + 0.1 * bw,
        y + 0.18 * bh,
        x + 0.9 * bw,
        y + 0.6 * bh,
        cloth,
    );
    let legs = [40, 40, 40];
    rect(
        pixels,
        x + 0.15 * bw,
        y + 0.6 * bh,
        x + 0.45 * bw,
        y + bh,
        legs,
    );
    rect(
        pixels,
        x + 0.55 * bw,
        y + 0.6 * bh,
        x + 0.85 * bw,
        y + bh,
        legs,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crowd_grows_to_twelve_then_empties() {
        let c: SyntheticCamera = "crowd".parse().unwrap();
        let scene = c.scene();
        let in_frame = |t: f64| {
            let frame = scene.frame((t * scene.fps()).round() as u64);
            frame
                .people
                .iter()
                .filter(|p| p.bbox.x + p.bbox.w > 0.0 && p.bbox.x < 640.0)
                .count()
        };
        assert_eq!(in_frame(10.0), 0);
        assert_eq!(in_frame(50.0), 7);
        assert_eq!(in_frame(100.0), 12);
        assert_eq!(in_frame(160.0), 4);
        assert_eq!(in_frame(180.0), 0);
        let seconds = scene.frame_count() as f64 / scene.fps();
        assert!((185.0..195.0).contains(&seconds), "{seconds}");
    }

    #[test]
    fn specs_parse() {
        let c: SyntheticCamera = "crossings,lighting,noise=6".parse().unwrap();
        assert!(c.lighting);
        assert_eq!(c.noise, 6);
        assert!(
            "nowhere"
                .parse::<SyntheticCamera>()
                .unwrap_err()
                .contains("crossings")
        );
        assert!("walk,foo".parse::<SyntheticCamera>().is_err());
        assert!("walk,noise=x".parse::<SyntheticCamera>().is_err());
    }

    #[test]
    fn people_are_drawn_where_the_scene_puts_them() {
        let c: SyntheticCamera = "walk".parse().unwrap();
        let pixels = c.render(0);
        let at = |x: usize, y: usize| pixels[(y * 640 + x) * 3];
        // Walker 1 starts with its feet at (60, 300): legs just above, background beside.
        assert_eq!(at(55, 295), 40);
        assert!(at(120, 295) > 120);
        assert_eq!(pixels.len(), 640 * 480 * 3);
    }
}

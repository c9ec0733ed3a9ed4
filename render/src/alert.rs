//! The emergency-alert takeover: a full-screen layer built with the canvas, above every zone,
//! so switching to an alert never waits for a branch to be built or pre-rolled.
//!
//! ```text
//! appsrc (live, BGRA, still frames) ! videoconvert ! I420 ! textoverlay (Pango markup)
//!     ! compositor pad (top zorder)
//! ```
//! Idle, the pad's alpha is 0 (the compositor skips it). [`AlertLayer::show`] pushes one
//! painted frame, and the alpha goes to 1 the instant that frame enters the compositor: level
//! colour, flashing border, large text in Japanese and English plus one rotating language;
//! a drill (Exercise / Test) gets its own palette, a hatched frame and the 訓練 / TEST banner
//! in every language. Frames are pushed only when the picture changes (flash, rotation), the
//! compositor repeats the last one in between. Clearing sets the alpha back to 0 at once.
//!
//! The frame painting and the markup are pure functions; the layer is their GStreamer shell.
//! A probe notes the running time of the first alert frame; the canvas tap reports the wall
//! clock when the first composed frame at or after it leaves the compositor
//! ([`AlertShown::wait`]), which is what the player acknowledges as `displayed_at`.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use alerts::flash::FlashPlan;
use alerts::message::AlertMessage;
use alerts::model::Status;
use alerts::templates::{LANGUAGES, Rgb, drill_banner};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::branch::make;
use crate::canvas::Shared;
use crate::error::RenderError;
use crate::text::{FONT_FAMILY, escape};

/// Each further language stays this long before the next one replaces it.
pub const ROTATION: Duration = Duration::from_secs(5);
/// Above every zone (zones use 10 + 10 per rank).
const ZORDER: u32 = 1_000_000;
/// Markups kept for frames still on their way to the overlay: more than the warm-up pushes.
const MARKUPS_KEPT: usize = 16;
/// The drill palette: a slate body, never a warning-level colour.
const DRILL_BODY: Rgb = Rgb(38, 50, 92);
const DRILL_TEXT: Rgb = Rgb(255, 255, 255);
const HATCH_DARK: Rgb = Rgb(0, 0, 0);
const HATCH_LIGHT: Rgb = Rgb(255, 212, 0);

/// One language's text on the takeover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertText {
    pub lang: String,
    pub headline: String,
    pub instruction: String,
}

/// What the takeover shows; built from the alert message the player verified.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertScreen {
    /// Warning-level background and text colours.
    pub background: Rgb,
    pub text: Rgb,
    /// Exercise or Test: drill palette, hatched frame, banners.
    pub drill: bool,
    /// 訓練 / TEST in every language (drills only).
    pub banners: Vec<String>,
    /// Japanese and English, always on screen.
    pub fixed: Vec<AlertText>,
    /// The other languages, one at a time for [`ROTATION`] each.
    pub rotating: Vec<AlertText>,
    /// The border's flashing, never above three flashes a second.
    pub flash: FlashPlan,
}

fn text_of(info: &alerts::model::Info) -> AlertText {
    AlertText {
        lang: info.language.clone(),
        headline: info
            .headline
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| info.event.clone()),
        instruction: info
            .instruction
            .clone()
            .or_else(|| info.description.clone())
            .unwrap_or_default(),
    }
}

impl AlertScreen {
    pub fn from_message(message: &AlertMessage) -> AlertScreen {
        AlertScreen::from_infos(
            message.level.colours(),
            &message.cap.infos,
            message.is_drill(),
            message.cap.status,
        )
    }

    fn from_infos(
        colours: alerts::templates::LevelColours,
        infos: &[alerts::model::Info],
        drill: bool,
        status: Status,
    ) -> AlertScreen {
        let primary = |l: &str| l.split('-').next().unwrap_or("").to_ascii_lowercase();
        let find = |lang: &str| {
            infos
                .iter()
                .position(|i| i.language.eq_ignore_ascii_case(lang))
                .or_else(|| {
                    infos
                        .iter()
                        .position(|i| primary(&i.language) == lang && !i.language.contains("easy"))
                })
        };
        let ja = find("ja");
        let en = find("en");
        let mut fixed: Vec<usize> = ja.into_iter().chain(en).collect();
        fixed.dedup();
        if fixed.is_empty() && !infos.is_empty() {
            fixed.push(0);
        }
        let status = if drill { status } else { Status::Actual };
        AlertScreen {
            background: colours.background,
            text: colours.text,
            drill,
            banners: LANGUAGES
                .iter()
                .filter_map(|lang| drill_banner(status, lang))
                .map(str::to_owned)
                .collect(),
            fixed: fixed.iter().map(|&i| text_of(&infos[i])).collect(),
            rotating: (0..infos.len())
                .filter(|i| !fixed.contains(i))
                .map(|i| text_of(&infos[i]))
                .collect(),
            flash: FlashPlan::calm(),
        }
    }

    fn body(&self) -> Rgb {
        if self.drill {
            DRILL_BODY
        } else {
            self.background
        }
    }

    fn body_text(&self) -> Rgb {
        if self.drill { DRILL_TEXT } else { self.text }
    }

    /// Which rotating language shows `elapsed` after the alert came on.
    pub fn rotation_at(&self, elapsed: Duration) -> usize {
        if self.rotating.is_empty() {
            return 0;
        }
        (elapsed.as_millis() / ROTATION.as_millis()) as usize % self.rotating.len()
    }
}

/// Width of the (flashing or hatched) frame around the takeover.
pub(crate) fn border_px(width: u32, height: u32) -> u32 {
    (width.min(height) / 24).max(4)
}

fn hex(c: Rgb) -> String {
    c.to_string()
}

/// Pango markup of the takeover: per fixed language a large headline and its instruction,
/// then the rotating language, with the drill banner above and below everything.
pub fn markup(screen: &AlertScreen, width: u32, height: u32, rotation: usize) -> String {
    compose(screen, width, height, &[rotation])
}

/// The markup with the given rotating languages (the screen shows one at a time; the warm-up
/// draws them all at once).
fn compose(screen: &AlertScreen, width: u32, height: u32, rotating: &[usize]) -> String {
    let h = height.min(width * 9 / 16).max(90);
    let headline = (h / 11).max(14);
    let instruction = (h / 20).max(12);
    let small = (h / 26).max(11);
    let text = hex(screen.body_text());
    let mut blocks = Vec::new();
    let banner = (!screen.banners.is_empty()).then(|| {
        format!(
            "<span font_desc=\"{FONT_FAMILY} Bold {small}px\" background=\"{}\" foreground=\"{}\"> {} </span>",
            hex(HATCH_LIGHT),
            hex(HATCH_DARK),
            escape(&screen.banners.join("  /  "))
        )
    });
    blocks.extend(banner.clone());
    let block = |t: &AlertText, big: u32, body: u32| {
        let mut lines = vec![format!(
            "<span font_desc=\"{FONT_FAMILY} Bold {big}px\" foreground=\"{text}\">{}</span>",
            escape(t.headline.trim())
        )];
        if !t.instruction.trim().is_empty() {
            lines.push(format!(
                "<span font_desc=\"{FONT_FAMILY} {body}px\" foreground=\"{text}\">{}</span>",
                escape(t.instruction.trim())
            ));
        }
        lines.join("\n")
    };
    for (i, t) in screen.fixed.iter().enumerate() {
        if i == 0 {
            blocks.push(block(t, headline, instruction));
        } else {
            blocks.push(block(t, headline * 3 / 4, instruction * 4 / 5));
        }
    }
    for t in rotating.iter().filter_map(|&r| screen.rotating.get(r)) {
        blocks.push(block(t, small * 5 / 4, small));
    }
    blocks.extend(banner);
    blocks.join("\n\n")
}

/// One still frame of the takeover, BGRA, `width` x `height`: the body colour inside a frame
/// that is solid (flash on: the text colour; off: the body colour) or, for drills, hatched in
/// diagonal stripes whose phase flips with the flash. Rows are copied from templates, so a
/// full-HD frame costs a few memcpy's.
pub fn paint(screen: &AlertScreen, width: u32, height: u32, flash_on: bool) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let b = border_px(width, height) as usize * if screen.drill { 2 } else { 1 };
    let b = b.min(w / 2).min(h / 2);
    let px = |c: Rgb| [c.2, c.1, c.0, 255u8];
    let body = px(screen.body());
    let mut frame = vec![0u8; w * h * 4];
    if screen.drill {
        let stripe = (b / 2).max(2);
        let (a, c) = if flash_on {
            (px(HATCH_LIGHT), px(HATCH_DARK))
        } else {
            (px(HATCH_DARK), px(HATCH_LIGHT))
        };
        // A row of stripes long enough to be shifted by one period.
        let template: Vec<u8> = (0..w + 2 * stripe)
            .flat_map(|x| if (x / stripe).is_multiple_of(2) { a } else { c })
            .collect();
        for (y, row) in frame.chunks_exact_mut(w * 4).enumerate() {
            let shift = (2 * stripe - y % (2 * stripe)) % (2 * stripe);
            row.copy_from_slice(&template[shift * 4..(shift + w) * 4]);
            if y >= b && y < h - b {
                let inner: Vec<u8> = body.repeat(w - 2 * b);
                row[b * 4..(w - b) * 4].copy_from_slice(&inner);
            }
        }
    } else {
        let edge = if flash_on { px(screen.text) } else { body };
        let full_edge = edge.repeat(w);
        let mut inner_row = edge.repeat(b);
        inner_row.extend(body.repeat(w - 2 * b));
        inner_row.extend(edge.repeat(b));
        for (y, row) in frame.chunks_exact_mut(w * 4).enumerate() {
            if y < b || y >= h - b {
                row.copy_from_slice(&full_edge);
            } else {
                row.copy_from_slice(&inner_row);
            }
        }
    }
    frame
}

/// The renderer's notice that an alert reached the screen.
pub struct AlertShown {
    // A mutex only to make the notice `Sync` (the player keeps it inside async tasks).
    rx: Mutex<Receiver<SystemTime>>,
}

impl AlertShown {
    /// When the first composed frame containing the alert left the compositor (wall clock);
    /// `None` if that did not happen within `timeout`.
    /// May be called again after a timeout: a late frame is still reported.
    pub fn wait(&self, timeout: Duration) -> Option<SystemTime> {
        self.rx.lock().ok()?.recv_timeout(timeout).ok()
    }

    pub(crate) fn new(rx: Receiver<SystemTime>) -> AlertShown {
        AlertShown { rx: Mutex::new(rx) }
    }
}

/// The first alert frame on its way to the compositor: its buffer offset, its running time
/// once the layer's probe saw it, and who waits for it.
pub(crate) struct AlertMark {
    offset: u64,
    /// Composed frames still to pass before the alert is surely in one: `None` until the
    /// frame entered the compositor; then 1, for the frame that may have been mid-way.
    skip: Option<u32>,
    /// Everyone waiting, including those of an alert this one replaced before it showed.
    notify: Vec<SyncSender<SystemTime>>,
}

/// Called by the canvas tap for every composed frame.
pub(crate) fn on_composed(shared: &Shared, _running_time: gst::ClockTime) {
    let mut mark = shared.alert_mark.lock().unwrap();
    let Some(m) = mark.as_mut() else { return };
    match m.skip {
        Some(0) => {
            let now = SystemTime::now();
            for notify in mark.take().map(|m| m.notify).unwrap_or_default() {
                let _ = notify.try_send(now);
            }
        }
        Some(n) => m.skip = Some(n - 1),
        None => {}
    }
}

struct Active {
    screen: AlertScreen,
    since: Instant,
    /// (rotation, flash on) of the last pushed frame.
    pushed: (usize, bool),
}

/// The takeover layer of one canvas.
pub(crate) struct AlertLayer {
    src: gst_app::AppSrc,
    pad: gst::Pad,
    width: u32,
    height: u32,
    shared: Arc<Shared>,
    /// Markup by buffer offset, for the probe that sets it on the overlay with its frame.
    markups: Arc<Mutex<VecDeque<(u64, String)>>>,
    next_offset: u64,
    active: Option<Active>,
}

impl AlertLayer {
    pub fn build(
        pipeline: &gst::Pipeline,
        compositor: &gst::Element,
        width: u32,
        height: u32,
        shared: Arc<Shared>,
    ) -> Result<AlertLayer, RenderError> {
        let src = make("appsrc")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| RenderError::Pipeline("appsrc is not an AppSrc".into()))?;
        // Still frames: framerate 0/1, no duration, so the compositor repeats the last one.
        src.set_caps(Some(
            &gst::Caps::builder("video/x-raw")
                .field("format", "BGRA")
                .field("width", width as i32)
                .field("height", height as i32)
                .field("framerate", gst::Fraction::new(0, 1))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .field("interlace-mode", "progressive")
                .build(),
        ));
        src.set_is_live(true);
        src.set_format(gst::Format::Time);
        // No latency of its own and no limit on others' (the heartbeat sets the canvas's).
        src.set_latency(gst::ClockTime::ZERO, gst::ClockTime::NONE);
        src.set_max_buffers(2);
        src.set_leaky_type(gst_app::AppLeakyType::Downstream);
        // The compositor takes only its output format (I420) on its pads, so the painted
        // BGRA frame is converted once per pushed frame (frames are pushed only on change).
        let convert = make("videoconvert")?;
        // Fixed caps into the overlay: it checks ours against the compositor's pad caps, which
        // name an interlace mode once the heartbeat has negotiated. Left open, start-up raced:
        // caps without the field (or a format the overlay cannot draw on) were refused with
        // not-negotiated and the canvas had to be rebuilt.
        let convert_caps = make("capsfilter")?;
        convert_caps.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("interlace-mode", "progressive")
                .build(),
        );
        let overlay = make("textoverlay")?;
        overlay.set_property("draw-shadow", false);
        overlay.set_property("draw-outline", true);
        overlay.set_property("shaded-background", false);
        overlay.set_property("auto-resize", false);
        overlay.set_property_from_str("halignment", "center");
        overlay.set_property_from_str("valignment", "center");
        overlay.set_property_from_str("line-alignment", "center");
        overlay.set_property_from_str("wrap-mode", "wordchar");
        overlay.set_property("color", 0xffff_ffffu32);
        pipeline
            .add_many([
                src.upcast_ref::<gst::Element>(),
                &convert,
                &convert_caps,
                &overlay,
            ])
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        gst::Element::link_many([
            src.upcast_ref::<gst::Element>(),
            &convert,
            &convert_caps,
            &overlay,
        ])
        .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        let pad = compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| RenderError::Pipeline("the compositor refused a pad".into()))?;
        pad.set_property("zorder", ZORDER);
        pad.set_property("alpha", 0.0f64);
        overlay
            .static_pad("src")
            .unwrap()
            .link(&pad)
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;

        let markups: Arc<Mutex<VecDeque<(u64, String)>>> = Arc::default();
        {
            // Sets each frame's own markup just before the overlay draws it.
            let markups = markups.clone();
            let weak = overlay.downgrade();
            let current = Mutex::new(String::new());
            overlay.static_pad("video_sink").unwrap().add_probe(
                gst::PadProbeType::BUFFER,
                move |_, info| {
                    let (Some(overlay), Some(gst::PadProbeData::Buffer(buffer))) =
                        (weak.upgrade(), &info.data)
                    else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let offset = buffer.offset();
                    if let Some((_, text)) =
                        markups.lock().unwrap().iter().find(|(o, _)| *o == offset)
                    {
                        let mut current = current.lock().unwrap();
                        if *text != *current {
                            *current = text.clone();
                            overlay.set_property("text", text.as_str());
                        }
                    }
                    gst::PadProbeReturn::Ok
                },
            );
        }
        {
            // The alert frame enters the compositor: make the pad visible in the same instant
            // (no earlier, so the previous frame never shows at full alpha) and start counting
            // composed frames for the display notice.
            let shared = shared.clone();
            let pad = pad.clone();
            overlay.static_pad("src").unwrap().add_probe(
                gst::PadProbeType::BUFFER,
                move |_, info| {
                    let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let mut mark = shared.alert_mark.lock().unwrap();
                    if let Some(m) = mark.as_mut()
                        && m.offset == buffer.offset()
                        && m.skip.is_none()
                    {
                        pad.set_property("alpha", 1.0f64);
                        m.skip = Some(1);
                    }
                    gst::PadProbeReturn::Ok
                },
            );
        }
        let mut layer = AlertLayer {
            src,
            pad,
            width,
            height,
            shared,
            markups,
            next_offset: 1,
            active: None,
        };
        // Warm Pango, the fonts and the glyphs of every template in every language up while
        // invisible, at the sizes the takeover uses, so the first real alert does not pay for
        // rasterising them (it took the first alert ~120 ms longer than the next ones). The
        // queue holds every warm-up frame until the pipeline plays (with 2 it dropped all but
        // the last two), then goes back to 2 so a real alert never waits behind old frames.
        // The frames share one blank picture.
        let markups = warm_up_markups(width, height);
        layer.src.set_max_buffers(markups.len() as u64 + 1);
        let blank = gst::Buffer::from_mut_slice(vec![0u8; (width * height * 4) as usize]);
        for markup in markups {
            layer.push_buffer(blank.copy(), markup);
        }
        layer.push_buffer(blank, String::new());
        layer.src.set_max_buffers(2);
        Ok(layer)
    }

    fn push(&mut self, pixels: Vec<u8>, markup: String) -> u64 {
        self.push_buffer(gst::Buffer::from_mut_slice(pixels), markup)
    }

    fn push_buffer(&mut self, mut buffer: gst::Buffer, markup: String) -> u64 {
        let offset = self.next_offset;
        self.next_offset += 1;
        {
            let mut markups = self.markups.lock().unwrap();
            markups.push_back((offset, markup));
            while markups.len() > MARKUPS_KEPT {
                markups.pop_front();
            }
        }
        {
            // Stamped at the last composed frame: the compositor takes it for its very next
            // frame instead of queueing it behind its latency.
            let last = self.shared.watch.lock().unwrap().running_time;
            let b = buffer.get_mut().unwrap();
            b.set_offset(offset);
            b.set_pts(last.unwrap_or(gst::ClockTime::ZERO) + gst::ClockTime::from_nseconds(1));
        }
        if let Err(e) = self.src.push_buffer(buffer) {
            tracing::warn!(?e, "the alert layer refused a frame");
        }
        offset
    }

    /// Shows `screen` over everything now; `notify` learns when it was displayed.
    pub fn show(&mut self, screen: AlertScreen, notify: Option<SyncSender<SystemTime>>) {
        let pixels = paint(&screen, self.width, self.height, true);
        let text = markup(&screen, self.width, self.height, 0);
        // The pad turns visible when this frame reaches the compositor (the probe).
        {
            let mut mark = self.shared.alert_mark.lock().unwrap();
            let mut waiting = mark.take().map(|m| m.notify).unwrap_or_default();
            waiting.extend(notify);
            *mark = Some(AlertMark {
                offset: self.next_offset,
                skip: None,
                notify: waiting,
            });
        }
        self.push(pixels, text);
        self.active = Some(Active {
            screen,
            since: Instant::now(),
            pushed: (0, true),
        });
    }

    /// Takes the takeover down at once.
    pub fn clear(&mut self) {
        *self.shared.alert_mark.lock().unwrap() = None;
        self.pad.set_property("alpha", 0.0f64);
        if self.active.take().is_some() {
            self.push(
                vec![0; (self.width * self.height * 4) as usize],
                String::new(),
            );
        }
    }

    /// Pushes a new frame when the flash or the rotation changed; returns when to come back.
    pub fn tick(&mut self) -> Option<Instant> {
        let active = self.active.as_ref()?;
        let elapsed = active.since.elapsed();
        let ms = elapsed.as_millis() as u64;
        let flash = active.screen.flash;
        let state = (active.screen.rotation_at(elapsed), flash.is_on(ms));
        if state != active.pushed {
            let screen = active.screen.clone();
            let pixels = paint(&screen, self.width, self.height, state.1);
            let text = markup(&screen, self.width, self.height, state.0);
            self.push(pixels, text);
            self.active.as_mut().unwrap().pushed = state;
        }
        let active = self.active.as_ref().unwrap();
        let next_flash = match flash.period_ms() {
            0 => u64::MAX,
            period => {
                let t = ms % period;
                if t < flash.on_ms() {
                    flash.on_ms() - t
                } else {
                    period - t
                }
            }
        };
        let rotation = ROTATION.as_millis() as u64;
        let next_rotation = if active.screen.rotating.len() > 1 {
            rotation - ms % rotation
        } else {
            u64::MAX
        };
        Some(Instant::now() + Duration::from_millis(next_flash.min(next_rotation).min(1000)))
    }
}

/// Every template (a drill, so the banners are in), with the fixed languages and then all
/// the rotating ones, as takeover markup.
fn warm_up_markups(width: u32, height: u32) -> Vec<String> {
    use alerts::templates::{Placeholders, TemplateKind, cap_infos};
    let values = Placeholders {
        area: "北区".into(),
        shelter: Some("北区役所".into()),
        ..Default::default()
    };
    TemplateKind::all()
        .into_iter()
        .filter_map(|kind| {
            let infos = cap_infos(kind, &values, Status::Exercise, None).ok()?;
            let screen =
                AlertScreen::from_infos(kind.level().colours(), &infos, true, Status::Exercise);
            let all: Vec<usize> = (0..screen.rotating.len()).collect();
            Some(compose(&screen, width, height, &all))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_warm_up_frame_keeps_its_markup_until_the_overlay_draws_it() {
        let count = warm_up_markups(640, 360).len();
        assert_eq!(count, alerts::templates::TemplateKind::all().len());
        // The warm-up frames and the blank one after them, all queued before the pipeline plays.
        assert!(
            count < MARKUPS_KEPT,
            "{count} warm-up markups, {MARKUPS_KEPT} kept"
        );
    }

    fn screen(drill: bool) -> AlertScreen {
        let t = |lang: &str, h: &str| AlertText {
            lang: lang.into(),
            headline: h.into(),
            instruction: "<すぐに> & 避難".into(),
        };
        AlertScreen {
            background: Rgb(255, 40, 0),
            text: Rgb(255, 255, 255),
            drill,
            banners: if drill {
                vec![
                    "【訓練】これは訓練です".into(),
                    "[DRILL] This is a drill".into(),
                ]
            } else {
                vec![]
            },
            fixed: vec![t("ja", "緊急地震速報"), t("en", "Earthquake Early Warning")],
            rotating: vec![t("ko", "긴급지진속보"), t("vi", "Cảnh báo động đất")],
            flash: FlashPlan::calm(),
        }
    }

    fn pixel(frame: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * width + x) * 4) as usize;
        [frame[i + 2], frame[i + 1], frame[i]]
    }

    #[test]
    fn a_real_alert_is_its_level_colour_with_a_flashing_border() {
        let s = screen(false);
        let on = paint(&s, 320, 180, true);
        let off = paint(&s, 320, 180, false);
        assert_eq!(pixel(&on, 320, 160, 90), [255, 40, 0]);
        assert_eq!(pixel(&on, 320, 1, 1), [255, 255, 255], "border on");
        assert_eq!(pixel(&off, 320, 1, 1), [255, 40, 0], "border off");
        assert!(on.chunks(4).all(|p| p[3] == 255), "opaque");
    }

    #[test]
    fn a_drill_has_its_own_palette_and_a_hatched_frame() {
        let s = screen(true);
        let frame = paint(&s, 320, 180, true);
        assert_eq!(pixel(&frame, 320, 160, 90), [38, 50, 92]);
        let edge: std::collections::BTreeSet<[u8; 3]> =
            (0..40).map(|x| pixel(&frame, 320, x, 2)).collect();
        assert_eq!(edge.len(), 2, "two-colour stripes: {edge:?}");
        let flipped = paint(&s, 320, 180, false);
        assert_ne!(pixel(&frame, 320, 0, 0), pixel(&flipped, 320, 0, 0));
    }

    #[test]
    fn markup_is_escaped_shows_ja_and_en_and_rotates_the_rest() {
        let s = screen(true);
        let first = markup(&s, 1920, 1080, 0);
        assert!(first.contains("緊急地震速報") && first.contains("Earthquake Early Warning"));
        assert!(first.contains("&lt;すぐに&gt; &amp; 避難"));
        assert!(first.contains("긴급지진속보") && !first.contains("Cảnh báo"));
        assert_eq!(
            first.matches("【訓練】").count(),
            2,
            "banner above and below"
        );
        let second = markup(&s, 1920, 1080, 1);
        assert!(second.contains("Cảnh báo") && !second.contains("긴급지진속보"));
        assert_eq!(s.rotation_at(Duration::from_millis(4999)), 0);
        assert_eq!(s.rotation_at(ROTATION), 1);
        assert_eq!(s.rotation_at(ROTATION * 2), 0);
        assert!(!markup(&screen(false), 1920, 1080, 0).contains("訓練"));
    }
}

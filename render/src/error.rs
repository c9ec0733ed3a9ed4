use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "GStreamer could not start: {0}; check that the GStreamer 1.22 libraries are installed"
    )]
    Init(String),
    #[error("the GStreamer element {factory} is missing; install {package}")]
    MissingElement {
        factory: &'static str,
        package: &'static str,
    },
    #[error("{key}: {problem}")]
    InvalidConfig { key: &'static str, problem: String },
    #[error("the media file {0} does not exist; check the content cache")]
    MissingFile(PathBuf),
    #[error("the pipeline refused to start: {0}")]
    Pipeline(String),
    #[error("no frame has been composed yet; ask again once the renderer has started")]
    NoFrameYet,
    #[error("could not encode the screenshot: {0}")]
    Screenshot(String),
    #[error("the renderer has stopped")]
    Stopped,
}

/// The package that provides an element, named in [`RenderError::MissingElement`].
pub(crate) fn package_of(factory: &str) -> &'static str {
    match factory {
        "textoverlay" | "ximagesink" => "gstreamer1.0-x and fonts-noto-cjk",
        "imagefreeze" | "aspectratiocrop" | "videoflip" | "pngdec" | "jpegdec" => {
            "gstreamer1.0-plugins-good"
        }
        "avdec_h264" => "gstreamer1.0-libav",
        "kmssink" | "waylandsink" => "gstreamer1.0-plugins-bad",
        "glimagesink" => "gstreamer1.0-gl",
        _ => "gstreamer1.0-plugins-base",
    }
}

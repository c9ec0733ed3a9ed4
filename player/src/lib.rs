//! The signage player: the edge program on each display. `main.rs` is a thin command-line
//! layer over this library.

pub mod alerts;
pub mod cache;
pub mod camera;
pub mod clock;
pub mod config;
pub mod counts;
pub mod disk;
pub mod display;
pub mod enrol;
pub mod journal;
pub mod plays;
pub mod power;
pub mod screen;
pub mod session;
pub mod state;
pub mod sync;
pub mod timer;

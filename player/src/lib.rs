//! The signage player: the edge program on each display. `main.rs` is a thin command-line
//! layer over this library.

pub mod config;
pub mod session;
pub mod state;

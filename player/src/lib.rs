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
pub mod http;
pub mod journal;
pub mod plays;
pub mod power;
pub mod screen;
pub mod session;
pub mod state;
pub mod sync;
pub mod timer;
pub mod update;

/// Replaces this process with a fresh start of the same binary and arguments (the same PID,
/// so a service manager sees no exit).
pub fn restart_self() -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let error = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(anyhow::anyhow!("cannot restart {}: {error}", exe.display()))
}

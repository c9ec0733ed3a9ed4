//! The shared language of the signage system. Pure data and functions: no IO.

pub mod protocol;

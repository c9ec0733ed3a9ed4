//! The emergency-alert core of the signage system. Pure: no IO, no sockets, no async, no
//! clock (every function that needs the time takes it as an argument).
//!
//! - [`model`]: the alert document aligned with CAP 1.2.
//! - [`cap`]: CAP in (safe parsing, the standard's rules) and out (CAP 1.2 export).
//! - [`message`]: what the controller sends to players: a CAP alert plus targets, warning
//!   level and revision; its projection onto `content::alert::ActiveAlert`; `HeldAlerts`,
//!   what a player keeps (revision order, no revival after a clear, offline expiry).
//! - [`area_map`]: CAP areas onto wards (geocode or polygon) through a configuration table.
//! - [`lifecycle`]: `AlertLifecycle`, the two-person issue / update / cancel state machine
//!   and its append-only audit trail.
//! - [`templates`]: ready texts for the common events in seven languages, JMA warning-level
//!   colours, drill and test marking.
//! - [`signing`]: Ed25519 signatures over the exact bytes of a message.
//! - [`flash`]: render timing for flashing borders that never exceeds 3 flashes a second.
//!
//! Architecture invariant: this crate knows nothing of MQTT, HTTP, storage or rendering; the
//! controller and the player do the IO around it.

pub mod area_map;
pub mod cap;
pub mod flash;
pub mod lifecycle;
pub mod message;
pub mod model;
pub mod signing;
pub mod templates;

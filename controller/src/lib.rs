//! The signage controller: HTTP API, store, MQTT broker (embedded or external) and the player
//! registry. `main.rs` is a thin command-line layer over this library.

pub mod accounts_cli;
pub mod alert_key;
pub mod alerting;
pub mod auth;
pub mod backup;
pub mod broker;
pub mod builds_api;
pub mod calendar_api;
pub mod client_ip;
pub mod config;
pub mod console;
pub mod content_api;
pub mod counts;
pub mod demo;
pub mod enrol;
pub mod feeds;
pub mod fleet;
pub mod fleet_api;
pub mod gather;
pub mod history;
pub mod http;
pub mod http_server;
pub mod library;
pub mod manifest;
pub mod memory;
pub mod mqtt_gate;
pub mod mqtt_tls;
pub mod openapi;
pub mod preview;
pub mod reports_api;
pub mod screens;
pub mod serve;
pub mod store;
pub mod unused_files;
pub mod waiting;

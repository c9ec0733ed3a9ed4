//! Tests of the content model through its public API: one binary, so the crate links once.

mod audience_rules;
mod calendar;
mod changes;
mod display_window;
mod power;
mod prefetch;
mod selection_props;
mod selection_table;
mod support;
mod validation;
mod waiting;

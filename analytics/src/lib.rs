//! People counting on the player and people-flow reports on the controller.

//! Pure decision code: no I/O, no clock, no randomness it was not handed.
//!
//! - [`dialer`]: discrete-event model of the Personal Connection dialler and agents;
//! - [`pacing`]: the pacing policy that chooses `maximumRatio`;
//! - [`compliance`]: calling-hour and abandonment law;
//! - [`window_guard`]: run-time stop/start of skills outside every lawful window.

pub mod compliance;
pub mod dialer;
pub mod pacing;
pub mod window_guard;

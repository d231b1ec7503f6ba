//! Workspace-level end-to-end tests, one binary: the library chain as the
//! CLI runs it ([`pipeline`]), the paper's starting point on the
//! acceptance dataset ([`calibration`]), and the model cards against their
//! generated evaluation files ([`cards`]).

mod calibration;
mod cards;
mod pipeline;

//! Workspace-level end-to-end tests, one binary: the library chain as the
//! CLI runs it ([`pipeline`]) and the paper's starting point on the
//! acceptance dataset ([`calibration`]).

mod calibration;
mod pipeline;

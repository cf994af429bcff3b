//! The small runtime kit every function shares: AWS configuration, structured logs, metrics,
//! the caller's verified identity and RFC 9457 problem details. Written once, here.

pub mod aws;
pub mod http;
pub mod identity;
pub mod logging;
pub mod metrics;
pub mod objects;
pub mod problem;
pub mod protocol;
pub mod queue;
pub mod signed;
pub mod sigv4;
pub mod sns;
mod xml;

pub use identity::{Caller, ClaimNames};
pub use problem::Problem;

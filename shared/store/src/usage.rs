//! Counts DynamoDB requests and the capacity they consumed (from ReturnConsumedCapacity), so
//! benchmarks report what an operation costs rather than how fast the emulator is.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub requests: u32,
    pub read_requests: u32,
    pub write_requests: u32,
    /// As reported by the server (ReturnConsumedCapacity).
    pub read_units: f64,
    pub write_units: f64,
    /// By DynamoDB's documented rules applied to the items (see `capacity`): the emulator
    /// reports nothing for transactions, so this is the figure to compare.
    pub estimated_read_units: f64,
    pub estimated_write_units: f64,
}

/// Shared and cheap to clone; every store request adds to it.
#[derive(Debug, Clone, Default)]
pub struct UsageMeter(Arc<Mutex<Usage>>);

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Read,
    Write,
}

impl UsageMeter {
    pub fn snapshot(&self) -> Usage {
        *self.0.lock().expect("usage lock")
    }

    pub fn reset(&self) {
        *self.0.lock().expect("usage lock") = Usage::default();
    }

    /// A request that consumed `units` (as DynamoDB reported them with
    /// ReturnConsumedCapacity=TOTAL; the request's kind says whether they were read or write
    /// units) and by our estimate `estimate`.
    pub(crate) fn record(&self, kind: Kind, units: f64, estimate: f64) {
        let mut usage = self.0.lock().expect("usage lock");
        usage.requests += 1;
        match kind {
            Kind::Read => {
                usage.read_requests += 1;
                usage.read_units += units;
                usage.estimated_read_units += estimate;
            }
            Kind::Write => {
                usage.write_requests += 1;
                usage.write_units += units;
                usage.estimated_write_units += estimate;
            }
        }
    }
}

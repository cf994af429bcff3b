//! Counts DynamoDB requests and the capacity they consumed (from ReturnConsumedCapacity), so
//! benchmarks report what an operation costs rather than how fast the emulator is.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::ConsumedCapacity;

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

    pub(crate) fn record(&self, kind: Kind, capacity: &[ConsumedCapacity], estimate: f64) {
        // With ReturnConsumedCapacity=TOTAL only the total is filled in; the request kind
        // says whether it was read or write capacity.
        let units = capacity.iter().filter_map(|c| c.capacity_units()).sum();
        self.record_units(kind, units, estimate);
    }

    /// A request that consumed `units` (as DynamoDB reported them) and by our estimate
    /// `estimate`.
    pub(crate) fn record_units(&self, kind: Kind, units: f64, estimate: f64) {
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

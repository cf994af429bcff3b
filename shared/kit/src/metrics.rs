//! Business and failure metrics in CloudWatch's embedded metric format (EMF): one JSON line
//! on stdout that CloudWatch Logs turns into metrics of the `FieldService` namespace. No
//! PutMetricData call: nothing to wait for or retry, no IAM permission, and the figures sit in
//! the function's log next to the lines that explain them.
//!
//! Dimensions stay few and bounded (the function, plus e.g. a suppression reason): each
//! combination is a metric CloudWatch bills for. The tenant is a property, not a dimension:
//! searchable with Logs Insights per organisation, without a metric per organisation.

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "FieldService";

/// One set of figures about one piece of work, written as one EMF line.
#[derive(Debug, Clone)]
pub struct Metrics {
    dimensions: Vec<(&'static str, String)>,
    counts: Vec<(&'static str, u64)>,
    properties: Map<String, Value>,
}

impl Metrics {
    /// Figures of `function` (its dimension `Function`, e.g. `customers-api`).
    pub fn new(function: &str) -> Self {
        Self {
            dimensions: vec![("Function", function.to_owned())],
            counts: Vec::new(),
            properties: Map::new(),
        }
    }

    /// A further dimension: every count of this line is reported per its value.
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    pub fn count(mut self, name: &'static str, value: u64) -> Self {
        self.counts.push((name, value));
        self
    }

    /// A member that is logged with the figures but is not a dimension (the tenant, an id).
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// The EMF document, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn document(&self, timestamp_ms: i64) -> Value {
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(name, _)| *name).collect();
        let metrics: Vec<Value> = self
            .counts
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
            .collect();
        let mut document = self.properties.clone();
        for (name, value) in &self.dimensions {
            document.insert((*name).to_owned(), json!(value));
        }
        for (name, value) in &self.counts {
            document.insert((*name).to_owned(), json!(value));
        }
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimension_names],
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(document)
    }

    /// Writes the line. Nothing is written without counts.
    pub fn emit(self) {
        if self.counts.is_empty() {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // One `println!` is one write of a whole line: it never interleaves with a log line.
        println!("{}", self.document(now));
    }
}

/// The figures of a batch of event records: how many came and how many are reported failed
/// (`batchItemFailures` of the partial batch `response`), per function. The failures are the
/// metric to alarm on before records reach a dead-letter queue.
pub fn batch(function: &str, records: usize, response: &Value) -> Metrics {
    Metrics::new(function)
        .count("RecordsProcessed", records as u64)
        .count("RecordFailures", reported_failures(response) as u64)
}

/// How many records a partial batch response reports back for retry.
pub fn reported_failures(response: &Value) -> usize {
    response["batchItemFailures"].as_array().map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_names_its_metrics_and_dimensions_and_carries_their_values() {
        let document = Metrics::new("customer-texts")
            .dimension("Reason", "optedOut")
            .count("TextsSuppressed", 2)
            .property("tenant", "acme")
            .document(1_764_590_400_000);
        assert_eq!(
            document,
            json!({
                "Function": "customer-texts",
                "Reason": "optedOut",
                "TextsSuppressed": 2,
                "tenant": "acme",
                "_aws": {
                    "Timestamp": 1_764_590_400_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "FieldService",
                        "Dimensions": [["Function", "Reason"]],
                        "Metrics": [{"Name": "TextsSuppressed", "Unit": "Count"}],
                    }],
                },
            })
        );
    }

    #[test]
    fn a_batch_counts_its_records_and_the_reported_failures() {
        let response = json!({"batchItemFailures": [{"itemIdentifier": "7"}]});
        let document = batch("customers-cascade", 3, &response).document(0);
        assert_eq!(document["RecordsProcessed"], 3);
        assert_eq!(document["RecordFailures"], 1);
        let none = batch("customers-cascade", 3, &json!({"batchItemFailures": []})).document(0);
        assert_eq!(none["RecordFailures"], 0);
    }
}

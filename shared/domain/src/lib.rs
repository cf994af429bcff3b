//! The customer register's rules: the record, its validation, the call-off rule and the text
//! folding that search uses. Pure: no AWS and no I/O, so every rule is unit-tested in isolation.

pub mod model;

pub use model::*;

//! The single-table DynamoDB adapter. Every key is built in [`keys`], every item shape in
//! [`items`], and nothing outside this crate knows either. Access patterns and key design:
//! `docs/data-model.md`.

pub mod capacity;
mod cascade;
pub mod cursor;
mod customers;
mod erasure;
mod error;
mod imports;
mod items;
pub mod keys;
mod linked;
pub mod listing;
mod notices;
mod settings;
mod slots;
pub mod stream;
mod usage;
mod work;

pub use cascade::CascadeError;
pub use customers::{
    Assignment, Companion, CreateOutcome, CustomerStore, IdempotencyRecord, MAX_PAGE, Page,
    StoredResponse,
};
pub use erasure::{EXPORT_ITEMS_MAX, ErasedPage, ErasureError};
pub use error::StoreError;
pub use imports::{
    Begin, CHUNK_OVERHEAD, ChunkError, CustomerChange, ErrorChunk, ImportCheckpoint, ImportCounts,
    ImportRecord, ImportRequest, ImportSource, ImportStatus, PreparedChange, TRANSACTION_ITEMS,
    external_ref_key,
};
pub use keys::TenantId;
pub use linked::{Depends, Link, Stored, WRITES_PER_TRANSACTION};
pub use listing::{ListQuery, Sort, StatusFilter, matches};
pub use notices::{Claim, Quota};
pub use settings::VersionedSettings;
pub use slots::{ImportSlot, Turn};
pub use usage::{Usage, UsageMeter};
pub use work::{JobFilter, WorkOrderFilter};

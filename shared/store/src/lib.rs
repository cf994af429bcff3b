//! The single-table DynamoDB adapter. Every key is built in [`keys`], every item shape in
//! [`items`], and nothing outside this crate knows either. Access patterns and key design:
//! `docs/data-model.md`.

mod bulk;
pub mod capacity;
mod cascade;
pub mod cursor;
mod customers;
mod erasure;
mod error;
mod exports;
mod imports;
mod items;
pub mod keys;
mod linked;
pub mod listing;
pub mod lookups;
mod merge;
mod newest_first;
mod notices;
mod requests;
mod settings;
mod slots;
pub mod stream;
mod usage;
mod wire;
mod work;

pub use bulk::{
    BULK_CHANGE_ENTITY, BULK_IDS_MAX, BULK_PAGE_MAX, BulkChangeRecord, BulkFilter, BulkStatus,
    BulkTotals, CardWrite, PageError, REFUSED_LISTED_MAX, RefusalReason, RefusedCustomer,
    Selection,
};
pub use cascade::CascadeError;
pub use customers::{
    Assignment, Companion, CreateOutcome, CustomerStore, IdempotencyRecord, MAX_PAGE, Page,
    StoredResponse,
};
pub use erasure::{EXPORT_ITEMS_MAX, ErasedPage, ErasureError};
pub use error::StoreError;
pub use exports::{ExportJob, ExportRecord, ExportStatus, export_object_key, exports_prefix};
pub use imports::{
    Begin, CHUNK_OVERHEAD, ChunkError, CustomerChange, ErrorChunk, IMPORT_LANES, ImportBlock,
    ImportCheckpoint, ImportCounts, ImportRecord, ImportRequest, ImportSource, ImportStatus,
    PreparedChange, RowSpan, TRANSACTION_ITEMS, external_ref_key,
};
pub use keys::TenantId;
pub use linked::{Depends, KindsFound, Link, Stored, WRITES_PER_TRANSACTION};
pub use listing::{ListQuery, Sort, StatusFilter, matches};
pub use merge::{MERGE_TRANSACTION_ITEMS, MoveError};
pub use notices::{Claim, Quota, TextReading};
pub use settings::VersionedSettings;
pub use slots::{ImportSlot, Turn};
pub use usage::{Usage, UsageMeter};
pub use work::{JobFilter, WorkOrderFilter};

//! The customer register's rules: the record, its validation, the call-off rule and the text
//! folding that search uses. Pure: no AWS and no I/O, so every rule is unit-tested in isolation.

pub mod articles;
mod built_once;
pub mod calloff;
pub mod card_changes;
pub mod contacts;
pub mod contracts;
pub mod countries;
mod country_names;
pub mod erasure;
pub mod field_permissions;
pub mod given;
pub mod history;
pub mod linked;
pub mod merge;
pub mod merge_patch;
pub mod model;
pub mod notes;
pub mod orgnumber;
pub mod permissions;
pub mod phone;
mod phone_metadata;
mod phone_rules;
pub mod reference;
pub mod search;
pub mod settings;
pub mod sites;
pub mod sms_policy;
pub mod texts;
pub mod tickets;
pub mod validation;
pub mod work;
pub mod zone;

pub use articles::{ArticleLine, ArticleLineInput, LINES_MAX, date_entered_hours};
pub use calloff::CallOffRefusal;
pub use card_changes::{CardChange, Denied, NotChanged};
pub use contacts::ContactError;
pub use contracts::{
    Contract, ContractFields, ContractInput, ContractStatus, Period, validate_contract,
};
pub use countries::country_from_name;
pub use field_permissions::{Refusal, refused_change, refused_create, refused_field};
pub use given::Given;
pub use history::{
    CASCADE_ACTOR, ChangeKind, FieldChange, HistoryEntry, MERGE_ACTOR, import_actor,
    import_of_actor, is_import_actor,
};
pub use linked::{Cascaded, Dependant, LinkRefusal, Linked, Movable, SiteUse};
pub use merge::{Merge, MergeRefusal, is_merged_into, may_merge, merge_cards};
pub use model::*;
pub use notes::{NOTE_TEXT_MAX, Note, NoteFields, NoteInput, NoteRefusal};
pub use orgnumber::{ORGANISATION_NUMBER_MAX, OrgNumber, OrgNumberError, parse_org_number};
pub use permissions::{Grants, Permission, Reach};
pub use phone::{
    LineKind, PhoneError, PhoneWithExtension, country_of, display_phone, is_valid_country,
    line_kind, normalise_mobile, normalise_phone, normalise_phone_with_extension,
};
pub use reference::{is_country, is_currency, is_language};
pub use search::fold;
pub use settings::{Channel, CustomFieldDef, CustomFieldType, OrderNumberUse, Settings};
pub use sites::{Site, SiteFields, SiteInput, SiteStatus, contact_from_customer};
pub use sms_policy::{SmsLimit, SmsPolicy};
pub use texts::{
    ComposedText, Recipient, SmsEncoding, Suppression, TextContext, TextLanguage, TextRecord,
    TextState, TextTrigger, compose, recipient, sms_segments, text_key, text_trigger,
};
pub use tickets::{
    Quantity, StockKey, StockLine, Ticket, TicketFields, TicketInput, validate_ticket,
};
pub use validation::{
    FieldError, NumberRules, ValidationContext, ValidationErrors, validate_change,
    validate_contact, validate_customer, validate_customer_number, validate_site,
};
pub use work::{
    IllegalTransition, Job, JobFields, JobInput, Task, TaskStatus, Window, WorkConflict, WorkOrder,
    WorkOrderFields, WorkOrderInput, WorkOrderKind, WorkStatus, check_change, is_user_id,
    validate_job, validate_work_order,
};

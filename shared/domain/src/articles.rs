//! Article lines of a work order: what the work charges for (hours, material, fixed costs such
//! as travel), each an article with a quantity, a unit and a unit price. A new work order of a
//! customer starts with the customer's work-order default articles (seed 001: "added
//! automatically when the customer is selected"). A time line is dated the day its hours are
//! entered: the card's time article at 0 hours becomes the hours worked, dated that day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::contracts::date;
use crate::validation::{
    ARTICLE_DESCRIPTION_MAX, ARTICLE_NUMBER_MAX, ARTICLE_UNIT_MAX, ARTICLES_MAX,
};
use crate::work::{optional_text, required_text, trimmed};
use crate::{ArticleKind, ArticleType, DefaultArticle, FieldError, Quantity};

/// Lines live inside their work order's item, like its tasks: bounded so the item stays far
/// below DynamoDB's 400 KB (at most about 1.3 KB a line; docs/data-model.md).
pub const LINES_MAX: usize = 100;
/// A ULID is 26; a client's own ids (a UUID is 36) fit too. Bounded like every other member,
/// so that patches cannot grow the item past its limit.
pub const LINE_ID_MAX: usize = 50;
const _: () = assert!(
    LINES_MAX >= ARTICLES_MAX,
    "every default article of a card fits on a new work order"
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleLine {
    /// A ULID, unique within its work order.
    pub id: String,
    pub article_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub article_type: ArticleType,
    /// Hours for a time line; not negative.
    pub quantity: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Per unit, in minor units of the work order's currency; none: priced later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    /// The day of the work: for a time line, the day its hours were entered (see
    /// [`date_entered_hours`]), unless set by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

/// A line as sent, whole (on a patch `lines` replaces the list; see docs/api.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArticleLineInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_type: Option<ArticleType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

impl ArticleLine {
    pub fn to_input(&self) -> ArticleLineInput {
        ArticleLineInput {
            id: Some(self.id.clone()),
            article_number: Some(self.article_number.clone()),
            description: self.description.clone(),
            article_type: Some(self.article_type),
            quantity: Some(self.quantity.to_string()),
            unit: self.unit.clone(),
            unit_price: self.unit_price,
            date: self.date.map(|d| d.to_string()),
        }
    }

    /// A new, undated line of the card's article (the card validated it).
    fn from_default(article: &DefaultArticle) -> ArticleLine {
        ArticleLine {
            id: ulid::Ulid::new().to_string(),
            article_number: article.article_number.clone(),
            description: article.description.clone(),
            article_type: article.article_type,
            quantity: Quantity::parse(&article.quantity).unwrap_or_default(),
            unit: article.unit.clone(),
            unit_price: article.unit_price,
            date: None,
        }
    }
}

/// The lines a new work order gets from its customer's card: the work-order default articles,
/// in the card's order (service articles belong to service protocols). Undated: see
/// [`date_entered_hours`].
pub fn default_lines(card: &[DefaultArticle]) -> Vec<ArticleLine> {
    card.iter()
        .filter(|article| article.kind == ArticleKind::WorkOrder)
        .map(ArticleLine::from_default)
        .collect()
}

/// Dates the time lines whose hours were entered now (seed 001: "the date for the work will
/// then automatically be set to the day you enter the hours"): a new time line with hours, and
/// a time line whose hours changed, get `today` (no date when the hours went back to 0),
/// unless the same change set the date by hand (a date sent that differs from the one
/// stored, or any date on a new line). Any other line keeps the date it was sent with.
pub fn date_entered_hours(before: &[ArticleLine], after: &mut [ArticleLine], today: NaiveDate) {
    for line in after
        .iter_mut()
        .filter(|l| l.article_type == ArticleType::Time)
    {
        let was = before.iter().find(|old| old.id == line.id);
        let hours_entered = match was {
            Some(was) => was.quantity != line.quantity && line.date == was.date,
            None => line.date.is_none(),
        };
        if hours_entered {
            line.date = (!line.quantity.is_zero()).then_some(today);
        }
    }
}

/// Validates the lines as sent (pointers under `/lines`); new lines get ids here.
pub(crate) fn validate_lines(
    lines: Vec<ArticleLineInput>,
    errors: &mut Vec<FieldError>,
) -> Vec<ArticleLine> {
    if lines.len() > LINES_MAX {
        errors.push(FieldError::too_many("/lines", LINES_MAX));
        return Vec::new();
    }
    let mut valid: Vec<ArticleLine> = Vec::with_capacity(lines.len());
    for (i, mut line) in lines.into_iter().enumerate() {
        let field = format!("/lines/{i}");
        let id = trimmed(line.id.take()).unwrap_or_else(|| ulid::Ulid::new().to_string());
        if id.chars().count() > LINE_ID_MAX {
            errors.push(FieldError::too_long(format!("{field}/id"), LINE_ID_MAX));
        } else if valid.iter().any(|l| l.id == id) {
            errors.push(FieldError::new(
                format!("{field}/id"),
                "duplicate",
                "Two lines have this id.",
            ));
        }
        if let Some(line) = validate_line(&field, id, line, errors) {
            valid.push(line);
        }
    }
    valid
}

fn validate_line(
    field: &str,
    id: String,
    line: ArticleLineInput,
    errors: &mut Vec<FieldError>,
) -> Option<ArticleLine> {
    let article_number = required_text(
        &format!("{field}/articleNumber"),
        line.article_number,
        ARTICLE_NUMBER_MAX,
        errors,
    );
    let description = optional_text(
        &format!("{field}/description"),
        line.description,
        ARTICLE_DESCRIPTION_MAX,
        errors,
    );
    let quantity = quantity(&format!("{field}/quantity"), line.quantity, errors);
    let unit = optional_text(
        &format!("{field}/unit"),
        line.unit,
        ARTICLE_UNIT_MAX,
        errors,
    );
    if line.unit_price.is_some_and(|price| price < 0) {
        errors.push(FieldError::negative_amount(
            format!("{field}/unitPrice"),
            "A unit price",
        ));
    }
    let day = date(&format!("{field}/date"), line.date, errors);
    Some(ArticleLine {
        id,
        article_number: article_number?,
        description,
        article_type: line.article_type.unwrap_or_default(),
        quantity: quantity?,
        unit,
        unit_price: line.unit_price.filter(|price| *price >= 0),
        date: day,
    })
}

/// Required, not negative, at most three decimals (like the card's article quantities).
fn quantity(field: &str, raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<Quantity> {
    let Some(raw) = trimmed(raw) else {
        errors.push(FieldError::required(field));
        return None;
    };
    let quantity = Quantity::parse(&raw).filter(|q| q.0 >= 0);
    if quantity.is_none() {
        errors.push(FieldError::invalid_quantity(field, &raw));
    }
    quantity
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn lines(input: serde_json::Value) -> Result<Vec<ArticleLine>, Vec<String>> {
        let mut errors = Vec::new();
        let valid = validate_lines(serde_json::from_value(input).unwrap(), &mut errors);
        if errors.is_empty() {
            Ok(valid)
        } else {
            Err(errors
                .into_iter()
                .map(|e| format!("{} {}", e.field, e.code))
                .collect())
        }
    }

    fn card() -> Vec<DefaultArticle> {
        serde_json::from_value(json!([
            {"articleNumber": "T-1", "description": "Work", "kind": "workOrder",
             "articleType": "time", "quantity": "0", "unit": "h", "unitPrice": 65000},
            {"articleNumber": "S-1", "kind": "service", "quantity": "1"},
            {"articleNumber": "R-1", "description": "Travel", "kind": "workOrder",
             "quantity": "1", "unitPrice": 45000}
        ]))
        .unwrap()
    }

    #[test]
    fn a_new_work_order_gets_the_card_s_work_order_articles_undated() {
        let lines = default_lines(&card());
        let numbers: Vec<&str> = lines.iter().map(|l| l.article_number.as_str()).collect();
        assert_eq!(
            numbers,
            ["T-1", "R-1"],
            "service articles stay off work orders"
        );
        let time = &lines[0];
        assert_eq!(
            (time.article_type, time.quantity, time.unit_price, time.date),
            (ArticleType::Time, Quantity(0), Some(65_000), None)
        );
        assert_eq!(time.id.len(), 26);
        assert_ne!(lines[0].id, lines[1].id);
        assert_eq!(lines[1].quantity, Quantity(1000));
        assert_eq!(lines[1].article_type, ArticleType::Item);
    }

    #[test]
    fn hours_entered_date_the_line_that_day() {
        let before = default_lines(&card());
        let mut after = before.clone();
        date_entered_hours(&[], &mut after, day(1));
        assert_eq!(after, before, "0 hours and items are not dated");

        after[0].quantity = Quantity(3500);
        after[1].quantity = Quantity(2000);
        date_entered_hours(&before, &mut after, day(2));
        assert_eq!(after[0].date, Some(day(2)));
        assert_eq!(after[1].date, None, "only time lines are dated");

        // Changed again later: dated again (seed 001), unless the date is set by hand too.
        let entered = after.clone();
        after[0].quantity = Quantity(4000);
        date_entered_hours(&entered, &mut after, day(5));
        assert_eq!(after[0].date, Some(day(5)));
        let entered = after.clone();
        after[0].quantity = Quantity(4500);
        after[0].date = Some(day(3));
        date_entered_hours(&entered, &mut after, day(6));
        assert_eq!(after[0].date, Some(day(3)));

        // Anything else about the line leaves its date alone; 0 hours again: no date.
        let entered = after.clone();
        after[0].description = Some("Work, evening".into());
        date_entered_hours(&entered, &mut after, day(7));
        assert_eq!(after[0].date, Some(day(3)));
        let entered = after.clone();
        after[0].quantity = Quantity(0);
        date_entered_hours(&entered, &mut after, day(8));
        assert_eq!(after[0].date, None);
    }

    #[test]
    fn a_new_time_line_with_hours_is_dated_unless_it_has_a_date() {
        let mut new = lines(json!([
            {"articleNumber": "T", "articleType": "time", "quantity": "2"},
            {"articleNumber": "T", "articleType": "time", "quantity": "2", "date": "2026-03-01"},
            {"articleNumber": "T", "articleType": "time", "quantity": "0"}
        ]))
        .unwrap();
        date_entered_hours(&[], &mut new, day(4));
        let dates: Vec<_> = new.iter().map(|l| l.date).collect();
        assert_eq!(dates, [Some(day(4)), Some(day(1)), None]);
    }

    #[test]
    fn lines_are_validated_with_pointers_into_the_list() {
        assert_eq!(
            lines(json!([
                {"articleNumber": " ", "quantity": "-1", "unitPrice": -5},
                {"articleNumber": "A", "quantity": "1.2345", "date": "1 March"},
                {"articleNumber": "x".repeat(51), "unit": "x".repeat(21)},
                {"id": "L", "articleNumber": "A", "quantity": "1"},
                {"id": "L", "articleNumber": "B", "quantity": "1"},
                {"id": "x".repeat(51), "articleNumber": "C", "quantity": "1"}
            ])),
            Err(vec![
                "/lines/0/articleNumber required".into(),
                "/lines/0/quantity invalid_quantity".into(),
                "/lines/0/unitPrice negative_amount".into(),
                "/lines/1/quantity invalid_quantity".into(),
                "/lines/1/date invalid_date".into(),
                "/lines/2/articleNumber too_long".into(),
                "/lines/2/quantity required".into(),
                "/lines/2/unit too_long".into(),
                "/lines/4/id duplicate".into(),
                "/lines/5/id too_long".into(),
            ])
        );
        let ok = lines(
            json!([{"articleNumber": " A-1 ", "quantity": "2,5", "unit": " h ",
                               "date": "2026-03-01"}]),
        )
        .unwrap();
        assert_eq!(ok[0].article_number, "A-1");
        assert_eq!(ok[0].quantity, Quantity(2500));
        assert_eq!(ok[0].unit.as_deref(), Some("h"));
        assert_eq!(ok[0].article_type, ArticleType::Item);
        assert_eq!(ok[0].date, Some(day(1)));
    }

    #[test]
    fn lines_keep_their_ids_through_the_input_and_are_bounded() {
        let mut valid = default_lines(&card());
        valid[0].date = Some(day(1));
        let inputs: Vec<_> = valid.iter().map(ArticleLine::to_input).collect();
        assert_eq!(lines(serde_json::to_value(inputs).unwrap()).unwrap(), valid);
        let many: Vec<_> = (0..=LINES_MAX)
            .map(|i| json!({"articleNumber": format!("A{i}"), "quantity": "1"}))
            .collect();
        assert_eq!(lines(json!(many)), Err(vec!["/lines too_many".into()]));
    }
}

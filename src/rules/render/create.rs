//! A create action's values: each rendered template read as its property's type.

use super::super::compile::CreateProperty;
use super::super::directory::Directory;
use super::{expected_text, text_write};
use crate::model::automation::{PlannedWrite, mentions_as_names};
use crate::model::ids::NotionId;
use crate::model::{PropertyWrite, User};

/// The write a rendered value makes, `None` when it is empty (the new task leaves it unset).
/// What a new task's `date`, `number` or `checkbox` value must look like, when `text` (trimmed,
/// not empty) is not that; `None` when it fits or the type takes any text. `check` asks it of
/// literal values, the render of every rendered one.
pub(crate) fn unfit(kind: &str, text: &str) -> Option<&'static str> {
    let fits = match kind {
        "date" => {
            let start = text.split('→').next().unwrap_or_default().trim();
            chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").is_ok()
                || chrono::DateTime::parse_from_rfc3339(start).is_ok()
        }
        "number" => text.parse::<f64>().is_ok_and(f64::is_finite),
        "checkbox" => matches!(
            text.to_lowercase().as_str(),
            "true" | "yes" | "1" | "false" | "no" | "0"
        ),
        _ => true,
    };
    (!fits).then_some(match kind {
        "date" => "a date (2026-07-10) or an ISO date-time",
        "number" => "a number",
        _ => "true or false",
    })
}

pub(super) fn write_of(
    property: &CreateProperty,
    rendered: &str,
    directory: &Directory,
) -> Result<Option<PlannedWrite>, String> {
    let text = mentions_as_names(rendered.to_string());
    let trimmed = text.trim();
    let invalid = |what: &str| format!("`create` {}: `{trimmed}` is not {what}", property.name);
    let list = || -> Vec<&str> {
        trimmed
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut shown = None;
    let value = match property.kind.as_str() {
        "title" | "rich_text" | "url" | "email" | "phone_number" if text.is_empty() => {
            return Ok(None);
        }
        "title" | "rich_text" | "url" | "email" | "phone_number" => {
            text_write(&property.kind, text.clone())
        }
        _ if trimmed.is_empty() => return Ok(None),
        "status" => PropertyWrite::Status(trimmed.to_string()),
        "select" => PropertyWrite::Select(Some(trimmed.to_string())),
        "multi_select" => {
            PropertyWrite::MultiSelect(list().into_iter().map(str::to_string).collect())
        }
        "date" | "number" | "checkbox" if unfit(&property.kind, trimmed).is_some() => {
            return Err(invalid(unfit(&property.kind, trimmed).unwrap_or_default()));
        }
        "date" => {
            let start = trimmed.split('→').next().unwrap_or_default().trim();
            PropertyWrite::Date(Some(start.to_string()))
        }
        "number" => PropertyWrite::Number(trimmed.parse::<f64>().ok()),
        "checkbox" => PropertyWrite::Checkbox(matches!(
            trimmed.to_lowercase().as_str(),
            "true" | "yes" | "1"
        )),
        "people" => {
            let people = list()
                .into_iter()
                .map(|who| directory.person(who))
                .collect::<Result<Vec<&User>, String>>()
                .map_err(|why| format!("`create` {}: {why}", property.name))?;
            let names: Vec<&str> = people.iter().map(|p| p.display()).collect();
            shown = Some(names.join(", "));
            PropertyWrite::People(people.iter().map(|p| p.id.clone()).collect())
        }
        "relation" => PropertyWrite::Relation(
            list()
                .into_iter()
                .map(|task| match NotionId::parse(task) {
                    Ok(id) => Ok(id.to_string()),
                    Err(_) => directory.task(task).map(|t| t.id.clone()),
                })
                .collect::<Result<_, String>>()
                .map_err(|why| format!("`create` {}: {why}", property.name))?,
        ),
        other => {
            return Err(format!(
                "`create` {}: a {other} property cannot be given",
                property.name
            ));
        }
    };
    Ok(Some(PlannedWrite {
        property: property.name.clone(),
        property_id: property.id.clone(),
        text: shown.unwrap_or_else(|| expected_text(&value)),
        value,
    }))
}

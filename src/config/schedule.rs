//! `[schedule]`: when the daemon runs each job.

use serde::{Deserialize, Deserializer};

/// `[schedule]`: each job takes an interval (`"90s"`, `"5m"`) or a cron expression (5 fields, or
/// 6 with seconds first), in `time_zone`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Pull changes, run rules and actions, send due mail.
    #[serde(default = "default_sync_schedule", deserialize_with = "sync_schedule")]
    pub sync: String,
    /// The full id scan that finds deleted tasks.
    #[serde(
        default = "default_reconcile_schedule",
        deserialize_with = "reconcile_schedule"
    )]
    pub reconcile: String,
    /// Send due mail between syncs (retries after a server was down).
    #[serde(
        default = "default_outbox_schedule",
        deserialize_with = "outbox_schedule"
    )]
    pub outbox: String,
    /// Evaluate time-dependent rules (`Due before today`) over the mirror, without asking
    /// Notion; every sync does it too.
    #[serde(
        default = "default_time_rules_schedule",
        deserialize_with = "time_rules_schedule"
    )]
    pub time_rules: String,
    /// Re-read every task (a full sync): catches formula and rollup values that change without
    /// an edit to the page, and deletions. Costs ⌈tasks/100⌉ queries plus the property reads of
    /// values cut at 25 that changed.
    #[serde(default = "default_full_schedule", deserialize_with = "full_schedule")]
    pub full: String,
    /// Write the flow report of the last 90 days beside the mirror (`report.html`, or
    /// `report-NAME.html` for each of several sources), from the mirror alone. Off unless set.
    #[serde(default, deserialize_with = "report_schedule")]
    pub report: Option<String>,
    /// The IANA time zone cron expressions are read in (`"Europe/Berlin"`); intervals ignore it.
    #[serde(default = "default_time_zone", deserialize_with = "time_zone")]
    pub time_zone: String,
}

fn default_sync_schedule() -> String {
    "2m".into()
}

fn default_reconcile_schedule() -> String {
    "1h".into()
}

fn default_outbox_schedule() -> String {
    "1m".into()
}

fn default_time_rules_schedule() -> String {
    "15m".into()
}

fn default_full_schedule() -> String {
    "1d".into()
}

fn default_time_zone() -> String {
    "UTC".into()
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            sync: default_sync_schedule(),
            reconcile: default_reconcile_schedule(),
            outbox: default_outbox_schedule(),
            time_rules: default_time_rules_schedule(),
            full: default_full_schedule(),
            report: None,
            time_zone: default_time_zone(),
        }
    }
}

impl ScheduleConfig {
    /// The parsed schedules: (sync, reconcile, outbox, time_rules, full). Checked when the file
    /// was read.
    pub fn parsed(&self) -> Result<[crate::schedule::Schedule; 5], String> {
        let zone = crate::schedule::parse_zone(&self.time_zone)?;
        let parse = |text: &str| crate::schedule::Schedule::parse(text, zone);
        Ok([
            parse(&self.sync)?,
            parse(&self.reconcile)?,
            parse(&self.outbox)?,
            parse(&self.time_rules)?,
            parse(&self.full)?,
        ])
    }

    /// The report's schedule, if it is on. Checked when the file was read.
    pub fn report_schedule(&self) -> Result<Option<crate::schedule::Schedule>, String> {
        let zone = crate::schedule::parse_zone(&self.time_zone)?;
        self.report
            .as_deref()
            .map(|text| crate::schedule::Schedule::parse(text, zone))
            .transpose()
    }
}

fn schedule_text<'de, D: Deserializer<'de>>(
    deserializer: D,
    key: &str,
) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    crate::schedule::Schedule::parse(&text, chrono_tz::Tz::UTC)
        .map_err(|problem| serde::de::Error::custom(format!("schedule.{key}: {problem}")))?;
    Ok(text)
}

fn sync_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    schedule_text(deserializer, "sync")
}

fn reconcile_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    schedule_text(deserializer, "reconcile")
}

fn outbox_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    schedule_text(deserializer, "outbox")
}

fn time_rules_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    schedule_text(deserializer, "time_rules")
}

fn full_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    schedule_text(deserializer, "full")
}

fn report_schedule<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    schedule_text(deserializer, "report").map(Some)
}

fn time_zone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    crate::schedule::parse_zone(&text).map_err(serde::de::Error::custom)?;
    Ok(text)
}

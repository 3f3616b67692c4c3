//! The flow report as one self-contained HTML page: inline CSS and SVG charts (plotters), no
//! script and nothing from the network, readable offline and printable. Pure: figures in,
//! text out.

use chrono::{Duration, NaiveDate};
use plotters::prelude::*;
use serde::Serialize;

use super::flow::{DayCounts, Spread, Workflow, spread};

/// An open task in the aging table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgingRow {
    pub label: String,
    pub title: String,
    pub assignee: String,
    pub url: String,
    pub status: String,
    pub days: f64,
}

/// One rule's activity in one week.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRow {
    pub rule: String,
    pub week: String,
    pub firings: i64,
    pub actions: i64,
    pub failed: i64,
}

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub title: String,
    pub generated_at: String,
    pub since: NaiveDate,
    /// The mirror's first sync: history is known from then on.
    pub history_begins: Option<NaiveDate>,
    pub workflow: Workflow,
    pub flow: Vec<DayCounts>,
    pub cycle: Vec<Duration>,
    pub lead: Vec<Duration>,
    pub throughput: Vec<(NaiveDate, usize)>,
    pub aging: Vec<AgingRow>,
    pub rules: Vec<RuleRow>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(155, 155, 155),
    RGBColor(66, 133, 244),
    RGBColor(52, 168, 83),
    RGBColor(251, 188, 5),
    RGBColor(234, 67, 53),
    RGBColor(171, 71, 188),
    RGBColor(0, 172, 193),
    RGBColor(255, 112, 67),
];

fn days(duration: &Duration) -> f64 {
    duration.num_minutes() as f64 / (24.0 * 60.0)
}

/// The stacked cumulative flow: one band per status, the first status on top.
fn flow_chart(figures: &Figures) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let days = figures.flow.len().max(1);
        let top = figures
            .flow
            .iter()
            .map(|d| d.counts.iter().sum::<usize>())
            .max()
            .unwrap_or(0)
            .max(1);
        let labels: Vec<String> = figures
            .flow
            .iter()
            .map(|d| d.day.format("%d %b").to_string())
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..days - 1, 0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc("tasks")
            .draw()
            .map_err(|e| e.to_string())?;
        let statuses = figures.workflow.statuses.len();
        // Band k's top is the sum of statuses k.. (the last status at the bottom); drawn from the
        // highest down, each over the one before.
        for k in 0..statuses {
            let color = PALETTE[k % PALETTE.len()];
            let points: Vec<(usize, usize)> = figures
                .flow
                .iter()
                .enumerate()
                .map(|(i, d)| (i, d.counts[k..].iter().sum()))
                .collect();
            chart
                .draw_series(AreaSeries::new(points, 0, color.mix(0.85)).border_style(color))
                .map_err(|e| e.to_string())?
                .label(figures.workflow.statuses[k].0.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Bars: one per label, with a value each.
fn bar_chart(values: &[(String, usize)], what: &str, color: RGBColor) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let count = u32::try_from(values.len().max(1)).unwrap_or(u32::MAX);
        let top = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
        let labels: Vec<String> = values.iter().map(|(l, _)| l.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((0..count).into_segmented(), 0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(values.len().min(16))
            .x_label_formatter(&|segment| match segment {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| labels.get(i).cloned())
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .y_desc(what)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(color.filled())
                    .margin(3)
                    .data(
                        values
                            .iter()
                            .enumerate()
                            .map(|(i, (_, v))| (u32::try_from(i).unwrap_or(u32::MAX), *v)),
                    ),
            )
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Cycle times as a histogram of whole days.
fn cycle_bins(cycle: &[Duration]) -> Vec<(String, usize)> {
    let max = cycle
        .iter()
        .map(chrono::TimeDelta::num_days)
        .max()
        .unwrap_or(0)
        .clamp(0, 60);
    let mut bins = vec![0usize; usize::try_from(max).unwrap_or(0) + 1];
    for duration in cycle {
        let day = usize::try_from(duration.num_days().clamp(0, max)).unwrap_or(0);
        bins[day] += 1;
    }
    bins.into_iter()
        .enumerate()
        .map(|(day, count)| (format!("{day} d"), count))
        .collect()
}

#[derive(Serialize)]
struct SpreadView {
    count: usize,
    median: Option<String>,
    p85: Option<String>,
}

fn view(spread: Spread) -> SpreadView {
    let show = |d: Duration| format!("{:.1} days", days(&d));
    SpreadView {
        count: spread.count,
        median: spread.median.map(show),
        p85: spread.p85.map(show),
    }
}

const TEMPLATE: &str = include_str!("report.html.j2");

/// The page.
pub fn render(figures: &Figures) -> Result<String, String> {
    let throughput: Vec<(String, usize)> = figures
        .throughput
        .iter()
        .map(|(week, n)| (week.format("%d %b").to_string(), *n))
        .collect();
    let mut environment = minijinja::Environment::new();
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    environment
        .add_template("report", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let template = environment
        .get_template("report")
        .map_err(|e| e.to_string())?;
    let statuses: Vec<String> = figures
        .workflow
        .statuses
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let context = minijinja::context! {
        title => figures.title.clone(),
        generated_at => figures.generated_at.clone(),
        since => figures.since.to_string(),
        history_begins => figures.history_begins.map(|day| day.to_string()),
        statuses => statuses,
        last_day => figures.flow.last().map(|d| d.counts.clone()).unwrap_or_default(),
        flow_svg => minijinja::Value::from_safe_string(flow_chart(figures)?),
        cycle_svg => minijinja::Value::from_safe_string(bar_chart(&cycle_bins(&figures.cycle), "tasks", PALETTE[1])?),
        throughput_svg => minijinja::Value::from_safe_string(bar_chart(&throughput, "tasks done", PALETTE[2])?),
        cycle => minijinja::Value::from(minijinja::value::Serde(view(spread(&figures.cycle)))),
        lead => minijinja::Value::from(minijinja::value::Serde(view(spread(&figures.lead)))),
        throughput => minijinja::Value::from(minijinja::value::Serde(&throughput)),
        aging => minijinja::Value::from(minijinja::value::Serde(&figures.aging)),
        rules => minijinja::Value::from(minijinja::value::Serde(&figures.rules)),
    };
    template.render(context).map_err(|e| e.to_string())
}

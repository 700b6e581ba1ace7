//! Timing and the one table every benchmark adds its rows to.

use std::time::{Duration, Instant};

/// One measurement.
#[derive(Debug, Clone)]
pub struct Row {
    /// Benchmark number and name.
    pub section: String,
    /// What was done.
    pub workload: String,
    /// Who did it.
    pub client: String,
    /// The figure, with units.
    pub figure: String,
    /// Anything else worth knowing (responses typed, peak RSS...).
    pub note: String,
    /// Their time (or memory) ÷ ours: above 1, ours is faster (smaller).
    pub ratio: Option<f64>,
}

/// Every row, in order.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        eprintln!(
            "  {:<44} {:<34} {}  {}  {}",
            row.workload.chars().take(44).collect::<String>(),
            row.client,
            row.figure,
            row.ratio.map(|r| format!("×{r:.2}")).unwrap_or_default(),
            row.note
        );
        self.rows.push(row);
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| benchmark | workload | client | figure (median) | ratio to ours | notes |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.section,
                r.workload,
                r.client,
                r.figure,
                r.ratio
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_else(|| "—".into()),
                r.note
            ));
        }
        out
    }
}

/// Runs `f` once to warm up, then repeatedly (at least 5 times, at most 41,
/// until `budget` is spent) and returns the median time and the last result.
pub fn measure<T>(budget: Duration, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < 5 || (start.elapsed() < budget && times.len() < 41) {
        let t = Instant::now();
        last = std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64());
    }
    (median(&mut times), last)
}

/// The median (the lower middle for an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() - 1) / 2]
}

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

/// Runs every function of `fs` in rounds, each round running every
/// function once, in an order that rotates from round to round: at least
/// `rounds.start()` rounds, then more until `budget` is spent, at most
/// `rounds.end()`; with `warm_up`, one untimed run of each first. Returns
/// each function's times in seconds, round by round. On a shared machine a
/// slow spell then falls on every function of a round alike, so that
/// [`round_ratio`] stays put where separate measurements drift apart.
pub fn measure_interleaved(
    rounds: std::ops::RangeInclusive<usize>,
    budget: Duration,
    warm_up: bool,
    fs: &mut [&mut dyn FnMut()],
) -> Vec<Vec<f64>> {
    if warm_up {
        for f in fs.iter_mut() {
            f();
        }
    }
    let n = fs.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); n];
    let start = Instant::now();
    let mut round = 0;
    while round < *rounds.start() || (start.elapsed() < budget && round < *rounds.end()) {
        for k in 0..n {
            let i = (k + round) % n;
            let t = Instant::now();
            fs[i]();
            times[i].push(t.elapsed().as_secs_f64());
        }
        round += 1;
    }
    times
}

/// The median over the rounds of `a`'s time ÷ `b`'s time in the same round.
pub fn round_ratio(a: &[f64], b: &[f64]) -> f64 {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    median(&mut r)
}

/// The median (the lower middle for an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() - 1) / 2]
}

//! Line plots as standalone SVG (no dependencies): the benchmark's curves.

use std::fmt::Write;

/// One line of a plot.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points, drawn in the given order.
    pub points: Vec<(f64, f64)>,
}

/// A plot with linear or logarithmic axes.
#[derive(Clone, Debug)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x axis (base 10).
    pub log_x: bool,
    /// Logarithmic y axis (base 10).
    pub log_y: bool,
    /// A fixed y range (e.g. `(0, 1)` for a CDF) instead of one fitted to
    /// the points.
    pub y_range: Option<(f64, f64)>,
    /// The lines.
    pub series: Vec<Series>,
}

const W: f64 = 640.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// Tick values for `[lo, hi]`: powers of ten on a log axis, else about six
/// round values.
fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        return (a..=b).map(|e| 10f64.powi(e)).collect();
    }
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 7.0)
        .unwrap_or(10.0 * mag);
    let (a, b) = ((lo / step).floor() as i64, (hi / step - 1e-9).ceil() as i64);
    (a..=b.max(a + 1)).map(|i| i as f64 * step).collect()
}

/// A short label for a tick value.
fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl LinePlot {
    /// The plot as an SVG document.
    pub fn to_svg(&self) -> String {
        let pts = || self.series.iter().flat_map(|s| s.points.iter());
        let usable = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
        let xs: Vec<f64> = pts()
            .map(|p| p.0)
            .filter(|&v| usable(v, self.log_x))
            .collect();
        let ys: Vec<f64> = pts()
            .map(|p| p.1)
            .filter(|&v| usable(v, self.log_y))
            .collect();
        let range = |v: &[f64], log: bool| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() {
                return if log { (1.0, 10.0) } else { (0.0, 1.0) };
            }
            if log {
                // A little room below the lowest point, so that it does not
                // sit on the axis.
                let t = ticks(lo * 0.8, hi, true);
                (t[0], *t.last().expect("ticks"))
            } else {
                let lo = lo.min(0.0);
                let hi = if hi > lo { hi * 1.05 } else { lo + 1.0 };
                let t = ticks(lo, hi, false);
                (t[0], *t.last().expect("ticks"))
            }
        };
        let (x0, x1) = range(&xs, self.log_x);
        let (y0, y1) = self.y_range.unwrap_or_else(|| range(&ys, self.log_y));
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let map = |v: f64, lo: f64, hi: f64, log: bool| {
            if log {
                (v.log10() - lo.log10()) / (hi.log10() - lo.log10()).max(1e-12)
            } else {
                (v - lo) / (hi - lo).max(1e-12)
            }
        };
        let px = |x: f64| LEFT + map(x, x0, x1, self.log_x) * pw;
        let py = |y: f64| TOP + ph - map(y, y0, y1, self.log_y) * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
            LEFT + pw / 2.0,
            escape(&self.title)
        );
        for t in ticks(x0, x1, self.log_x) {
            let x = px(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 16.0,
                label(t)
            );
        }
        for t in ticks(y0, y1, self.log_y) {
            let y = py(t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                label(t)
            );
        }
        let _ = writeln!(
            s,
            r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 14.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        for (i, ser) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let p: Vec<String> = ser
                .points
                .iter()
                .filter(|p| usable(p.0, self.log_x) && usable(p.1, self.log_y))
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
                p.join(" ")
            );
            // Dots only where there are few points (a CDF is a line).
            if p.len() <= 40 {
                for q in &p {
                    let (x, y) = q.split_once(',').expect("x,y");
                    let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>"#);
                }
            }
            let ly = TOP + 10.0 + 20.0 * i as f64;
            let lx = LEFT + pw + 12.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                lx + 20.0,
                lx + 26.0,
                ly + 4.0,
                escape(&ser.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, false), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.0, 23_000.0, false);
        assert_eq!(t.first(), Some(&0.0));
        assert!(*t.last().unwrap() >= 23_000.0, "{t:?}");
        assert_eq!(ticks(3.0, 700.0, true), vec![1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn svg_has_one_line_per_series_and_escapes_text() {
        let p = LinePlot {
            title: "a < b".into(),
            x_label: "clients".into(),
            y_label: "ops/s".into(),
            log_x: true,
            log_y: false,
            y_range: None,
            series: vec![
                Series {
                    name: "abd".into(),
                    points: vec![(1.0, 10.0), (10.0, 20.0)],
                },
                Series {
                    name: "vivace_rw".into(),
                    // The zero cannot be drawn on a log axis: left out.
                    points: vec![(0.0, 5.0), (1.0, 5.0), (100.0, 30.0)],
                },
            ],
        };
        let svg = p.to_svg();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("a &lt; b"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains(">vivace_rw</text>"));
    }
}

//! Bar charts as inline SVG, drawn on the server: no script, nothing for the CSP to allow.

use std::fmt::Write as _;

use depot_core::feed::escape_text;

/// A bar chart of labelled values, labels along the bottom (every `label_every`-th shown).
pub fn bars(values: &[(String, i64)], label_every: usize, title: &str) -> String {
    let (width, height, bottom, left) = (760.0_f64, 220.0_f64, 30.0_f64, 40.0_f64);
    let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let n = values.len().max(1) as f64;
    let slot = (width - left) / n;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        escape_text(title)
    );
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"12\">{max}</text><text x=\"0\" y=\"{}\">0</text>",
        height - bottom
    );
    for (i, (label, value)) in values.iter().enumerate() {
        let h = (*value as f64 / max) * (height - bottom - 20.0);
        let x = left + i as f64 * slot;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}: {value}</title></rect>",
            height - bottom - h,
            (slot * 0.8).max(1.0),
            escape_text(label)
        );
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{}\">{}</text>",
                height - 8.0,
                escape_text(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_are_scaled_and_labels_escaped() {
        let svg = super::bars(&[("a<b".into(), 2), ("c".into(), 4)], 1, "t&t");
        assert!(svg.contains("aria-label=\"t&amp;t\""));
        assert!(svg.contains(">a&lt;b</text>"));
        assert!(svg.contains("<title>c: 4</title>"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}

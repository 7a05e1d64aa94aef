//! Renders a data-flow model as an SVG diagram: one column per trust boundary (dashed),
//! processes as rounded boxes, stores as open-sided boxes, external entities as plain boxes,
//! flows as arrows labelled with their data. Deterministic layout, no scripts, no fonts to load.

use std::fmt::Write as _;

use crate::threats::{ElementKind, Flows};

/// Names from the flows file, control characters made visible, then HTML-escaped.
fn escape(s: &str) -> String {
    vouch_report::html::escape(&vouch_report::clean(s))
}

const BOX_W: i64 = 170;
const BOX_H: i64 = 46;
const COL_W: i64 = 260;
const ROW_H: i64 = 110;
const MARGIN: i64 = 30;

/// The diagram as a standalone `<svg>` element.
pub fn dfd(model: &Flows) -> String {
    // Columns: each declared boundary in order, then elements outside any boundary.
    let mut columns: Vec<(Option<String>, String)> = model
        .boundaries
        .iter()
        .map(|b| {
            (
                Some(b.id.as_str().to_string()),
                b.name.clone().unwrap_or_else(|| b.id.as_str().to_string()),
            )
        })
        .collect();
    if model.elements.iter().any(|e| e.boundary.is_none()) {
        columns.push((None, String::new()));
    }
    let mut pos: Vec<(String, i64, i64)> = Vec::new();
    let mut max_rows = 1;
    for (ci, (id, _)) in columns.iter().enumerate() {
        let members: Vec<_> = model
            .elements
            .iter()
            .filter(|e| e.boundary.as_ref().map(|b| b.as_str().to_string()) == *id)
            .collect();
        max_rows = max_rows.max(members.len() as i64);
        for (ri, e) in members.iter().enumerate() {
            let x = MARGIN + ci as i64 * COL_W + (COL_W - BOX_W) / 2;
            let y = MARGIN + 30 + ri as i64 * ROW_H;
            pos.push((e.id.as_str().to_string(), x, y));
        }
    }
    let width = MARGIN * 2 + columns.len().max(1) as i64 * COL_W;
    let height = MARGIN * 2 + 30 + max_rows * ROW_H;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"Data-flow diagram\" font-family=\"system-ui, sans-serif\" font-size=\"13\">"
    );
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>");
    for (ci, (id, name)) in columns.iter().enumerate() {
        if id.is_none() {
            continue;
        }
        let x = MARGIN + ci as i64 * COL_W + 8;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{MARGIN}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#cf222e\" stroke-dasharray=\"8 5\" rx=\"10\"/><text x=\"{}\" y=\"{}\" fill=\"#cf222e\">{}</text>",
            COL_W - 16,
            height - 2 * MARGIN,
            x + 10,
            MARGIN + 20,
            escape(name)
        );
    }
    let center = |id: &str| {
        pos.iter()
            .find(|p| p.0 == id)
            .map(|p| (p.1 + BOX_W / 2, p.2 + BOX_H / 2))
    };
    for f in &model.flows {
        let (Some((x1, y1)), Some((x2, y2))) = (center(f.from.as_str()), center(f.to.as_str()))
        else {
            continue;
        };
        // Stop at the box edge so the arrowhead stays visible.
        let (dx, dy) = ((x2 - x1) as f64, (y2 - y1) as f64);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let tx = (BOX_W as f64 / 2.0) / dx.abs().max(1e-9);
        let ty = (BOX_H as f64 / 2.0) / dy.abs().max(1e-9);
        let t = tx.min(ty).min(len) / 1.0;
        let (ex, ey) = (x2 as f64 - dx * t, y2 as f64 - dy * t);
        let (sx, sy) = (x1 as f64 + dx * t, y1 as f64 + dy * t);
        let _ = write!(
            s,
            "<line x1=\"{sx:.0}\" y1=\"{sy:.0}\" x2=\"{ex:.0}\" y2=\"{ey:.0}\" stroke=\"#444\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>"
        );
        if let Some(d) = &f.data {
            let _ = write!(
                s,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#333\" font-size=\"11\">{}</text>",
                (sx + ex) / 2.0,
                (sy + ey) / 2.0 - 4.0,
                escape(d)
            );
        }
    }
    for e in &model.elements {
        let Some((_, x, y)) = pos.iter().find(|p| p.0 == e.id.as_str()).cloned() else {
            continue;
        };
        match e.kind {
            ElementKind::Process => {
                let _ = write!(
                    s,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"20\" fill=\"#ddf4ff\" stroke=\"#0969da\"/>"
                );
            }
            ElementKind::Store => {
                let _ = write!(
                    s,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" fill=\"#fff8c5\" stroke=\"none\"/><line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#9a6700\"/><line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9a6700\"/>",
                    x + BOX_W,
                    y + BOX_H,
                    x + BOX_W,
                    y + BOX_H
                );
            }
            ElementKind::External => {
                let _ = write!(
                    s,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" fill=\"#f6f8fa\" stroke=\"#57606a\"/>"
                );
            }
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#1b1f23\">{}</text>",
            x + BOX_W / 2,
            y + BOX_H / 2 + 4,
            escape(e.label())
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn diagram_has_boundaries_boxes_and_arrows() {
        let m = Flows::parse(Path::new("f.yaml"), crate::threats::tests::SAMPLE).unwrap();
        let svg = dfd(&m);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("stroke-dasharray").count(), 2);
        assert_eq!(svg.matches("marker-end").count(), 2);
        assert!(svg.contains(">Cloud VPC<") && svg.contains(">Database<"));
        assert_eq!(svg, dfd(&m), "layout is deterministic");
    }
}

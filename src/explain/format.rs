//! How `explain` lays numbers out as text: significant digits, superscripts, matrices and
//! columns side by side, wrapped rows, and the norm-and-largest-entries summary of a quantity
//! too large to print.

use super::LARGEST;

/// Significant digits of the computed (f64) numbers; `--json` has them all.
pub(super) const DIGITS: i32 = 7;
/// Blocks side by side up to this width, one under the other beyond it.
pub(super) const WIDTH: usize = 110;

/// `n` in superscript digits: sup(12) = "¹²".
pub(super) fn sup(n: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .chars()
        .map(|c| DIGITS[c.to_digit(10).unwrap_or(0) as usize])
        .collect()
}

/// A computed number to [`DIGITS`] significant digits, trailing zeros dropped.
pub(super) fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{x:.*e}", (DIGITS - 1) as usize);
    }
    let decimals = (DIGITS - 1 - magnitude).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A number the network holds (f32): its shortest exact form.
pub(super) fn num32(x: f32) -> String {
    format!("{x}")
}

pub(super) fn rel(x: Option<f64>) -> String {
    x.map_or("—".into(), |r| format!("{r:.1e}"))
}

pub(super) fn fd(x: Option<f64>) -> String {
    x.map_or("—".into(), num)
}

/// Rows of cells as a matrix: columns right-aligned, each row in brackets.
pub(super) fn matrix(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(v, &w)| format!("{v:>w$}"))
                .collect();
            format!("[ {} ]", cells.join("  "))
        })
        .collect()
}

/// A vector as a column (one entry a row).
pub(super) fn column(values: &[String]) -> Vec<String> {
    matrix(&values.iter().map(|v| vec![v.clone()]).collect::<Vec<_>>())
}

/// A vector as one row, wrapped at [`WIDTH`] with `indent` spaces before continued lines.
pub(super) fn row(values: &[String], indent: usize) -> String {
    let mut out = String::from("[");
    let mut line = 1;
    for (i, v) in values.iter().enumerate() {
        let gap = if i == 0 { " " } else { "  " };
        if line + v.len() + 4 > WIDTH.saturating_sub(indent) && line > 1 {
            out += &format!("\n{}", " ".repeat(indent + 1));
            line = 1;
        }
        out += &format!("{gap}{v}");
        line += v.len() + gap.len();
    }
    out + " ]"
}

/// Blocks (a title over its lines) side by side, or one under the other when too wide; every
/// line starts with `indent` spaces.
pub(super) fn blocks(indent: usize, parts: &[(String, Vec<String>)]) -> Vec<String> {
    let width = |(t, l): &(String, Vec<String>)| {
        l.iter()
            .chain(std::iter::once(t))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = parts.iter().map(width).collect();
    let pad = " ".repeat(indent);
    if indent + widths.iter().sum::<usize>() + 3 * parts.len() <= WIDTH {
        let height = parts.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
        let mut out = Vec::new();
        for r in 0..=height {
            let cells: Vec<String> = parts
                .iter()
                .zip(&widths)
                .map(|((t, l), &w)| {
                    let cell = if r == 0 {
                        t.clone()
                    } else {
                        l.get(r - 1).cloned().unwrap_or_default()
                    };
                    format!("{cell:<w$}")
                })
                .collect();
            out.push(format!("{pad}{}", cells.join("   ").trim_end()));
        }
        out
    } else {
        parts
            .iter()
            .flat_map(|(t, l)| std::iter::once(t.clone()).chain(l.iter().cloned()))
            .map(|s| format!("{pad}{s}"))
            .collect()
    }
}

pub(super) fn strings64(v: &[f64]) -> Vec<String> {
    v.iter().map(|&x| num(x)).collect()
}

pub(super) fn strings32(v: &[f32]) -> Vec<String> {
    v.iter().map(|&x| num32(x)).collect()
}

/// The indices of `v` by decreasing |v|.
pub(super) fn by_size(v: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[b].abs().total_cmp(&v[a].abs()));
    order
}

/// `items` joined by ", " and wrapped at [`WIDTH`] between items, continued lines indented
/// by `indent` spaces.
pub(super) fn wrap(first: &str, items: &[String], indent: usize) -> String {
    let mut out = first.to_string();
    let mut line = indent + first.chars().count();
    for (i, item) in items.iter().enumerate() {
        let n = item.chars().count() + 2;
        if i > 0 && line + n > WIDTH {
            out += &format!(",\n{}", " ".repeat(indent));
            line = indent;
        } else if i > 0 {
            out += ", ";
        }
        out += item;
        line += n;
    }
    out
}

/// ‖v‖ and the [`LARGEST`] largest |entries| of `v`, named `name[i]`, wrapped for a line
/// that starts `indent` columns in.
pub(super) fn summary(name: &str, v: &[f64], cols: Option<usize>, indent: usize) -> String {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut items = vec![format!("‖{name}‖ = {}; largest: ", num(norm))];
    items.extend(
        by_size(v)
            .iter()
            .take(LARGEST)
            .map(|&i| format!("{}{} = {}", name, index(i, cols), num(v[i]))),
    );
    let first = items.remove(0);
    wrap(&first, &items, indent + 2)
}

pub(super) fn index(i: usize, cols: Option<usize>) -> String {
    match cols {
        Some(c) => format!("[{}][{}]", i / c, i % c),
        None => format!("[{i}]"),
    }
}

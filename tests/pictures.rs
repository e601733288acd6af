//! The pictures and tables for looking at a run: `train --plot` and `plot` (decoded: size, ink,
//! each run's colour present), `eval --confusion` (the matrix agrees with the per-class counts
//! and the accuracy), `eval --errors` (the grid's tiles are the misclassified test images, in
//! order) and `show-weights` (one tile per hidden unit, red where the weight is largest, blue
//! where smallest).

mod common;
use common::{gpu_mlp, ok, s};

use gpu_mlp::render::grid::GridLayout;
use std::path::{Path, PathBuf};

/// Trains 3 epochs on the small subset; returns the checkpoint and the metrics file.
fn train(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let model = dir.join(format!("{name}.safetensors"));
    let metrics = dir.join(format!("{name}.jsonl"));
    let mut args = vec![
        "train",
        "--epochs",
        "3",
        "--train-size",
        "1000",
        "--validation-size",
        "500",
        "--test-size",
        "500",
        "--quiet",
        "--monitor",
        "train-cost,train-accuracy,validation-cost,validation-accuracy,test-cost,test-accuracy",
        "--save",
        s(&model),
        "--metrics",
        s(&metrics),
    ];
    args.extend(extra);
    ok(&gpu_mlp(&args));
    (model, metrics)
}

fn read_png(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Fraction of pixels that are not white.
fn ink(img: &image::RgbImage) -> f64 {
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    inked as f64 / (img.width() * img.height()) as f64
}

fn has_color(img: &image::RgbImage, rgb: (u8, u8, u8)) -> bool {
    img.pixels().any(|p| p.0 == [rgb.0, rgb.1, rgb.2])
}

#[test]
fn train_plot_and_plot_of_two_runs_draw_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("run.png");
    let (_, fast) = train(dir.path(), "fast", &["--plot", s(&png)]);
    let img = read_png(&png);
    assert_eq!(img.dimensions(), (1200, 500));
    let inked = ink(&img);
    assert!((0.02..0.6).contains(&inked), "ink fraction {inked}");
    assert!(has_color(&img, gpu_mlp::plot::run_color(0)));

    let (_, slow) = train(dir.path(), "slow", &["--eta", "0.5"]);
    let both = dir.path().join("both.png");
    let out = ok(&gpu_mlp(&[
        "plot",
        s(&fast),
        s(&slow),
        "-o",
        s(&both),
        "--labels",
        "eta 3.0,eta 0.5",
        "--width",
        "900",
        "--height",
        "400",
    ]));
    assert!(out.contains("plotted 2 run(s), 6 epochs"), "{out}");
    let img = read_png(&both);
    assert_eq!(img.dimensions(), (900, 400));
    for run in 0..2 {
        assert!(has_color(&img, gpu_mlp::plot::run_color(run)), "run {run}");
    }
    assert!(!has_color(&img, gpu_mlp::plot::run_color(2)));

    // A file that is not a metrics file is refused with its name and line.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"epoch\": 1}\nnot json\n").unwrap();
    let out = gpu_mlp(&["plot", s(&bad), "-o", s(&dir.path().join("x.png"))]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
    assert!(!dir.path().join("x.png").exists());
}

/// The model's predictions on the first 500 test images, through the library.
fn predictions(model: &Path) -> (Vec<u8>, gpu_mlp::data::Dataset) {
    let ck = gpu_mlp::checkpoint::Checkpoint::load(model).unwrap();
    let splits = std::sync::Arc::new(
        gpu_mlp::data::load(
            &gpu_mlp::data::Source::Mnist,
            gpu_mlp::data::SplitSizes {
                train: 1000,
                validation: 500,
                test: Some(500),
            },
        )
        .unwrap(),
    );
    let mut cpu = gpu_mlp::cpu::CpuBackend::new(
        &ck.network,
        ck.params,
        gpu_mlp::config::OptimizerKind::Sgd,
        splits.clone(),
        1,
        1,
    )
    .unwrap();
    use gpu_mlp::backend::Backend;
    let e = cpu.evaluate(gpu_mlp::backend::Split::Test).unwrap();
    (e.predictions, splits.test.clone())
}

#[test]
fn eval_confusion_and_error_grid_match_the_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train(dir.path(), "m", &[]);
    let grid = dir.path().join("errors.png");
    let out = ok(&gpu_mlp(&[
        "eval",
        "--model",
        s(&model),
        "--test-size",
        "500",
        "--confusion",
        "--json",
        "--errors",
        s(&grid),
        "--errors-max",
        "25",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let m: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
    assert_eq!(m.len(), 10);
    let total: u64 = m.iter().flatten().sum();
    let diagonal: u64 = (0..10).map(|c| m[c][c]).sum();
    assert_eq!(total, 500);
    assert_eq!(diagonal, v["correct"].as_u64().unwrap());
    for (c, row) in m.iter().enumerate() {
        let pc = &v["per_class"][c];
        assert_eq!(row.iter().sum::<u64>(), pc["count"].as_u64().unwrap());
        assert_eq!(row[c], pc["correct"].as_u64().unwrap());
    }

    let (predicted, test) = predictions(&model);
    let wrong: Vec<usize> = (0..test.len())
        .filter(|&i| predicted[i] != test.labels[i])
        .collect();
    assert_eq!(v["errors"]["misclassified"], wrong.len());
    let shown = wrong.len().min(25);
    assert_eq!(v["errors"]["shown"], shown);
    let img = read_png(&grid);
    let layout = GridLayout::for_tiles(shown, 28);
    assert_eq!(img.dimensions(), layout.size());
    for (tile, &i) in wrong.iter().take(shown).enumerate() {
        let (ox, oy) = layout.origin(tile);
        for (p, &px) in test.image(i).iter().enumerate() {
            let (x, y) = ((p % 28) as u32, (p / 28) as u32);
            let got = img.get_pixel(ox + x * layout.scale + 1, oy + y * layout.scale + 1);
            assert_eq!(got.0, [px; 3], "tile {tile} (test image {i}) pixel {p}");
        }
        // The caption band under the tile has dark text in it.
        let band_y = oy + 28 * layout.scale;
        let dark = (band_y..band_y + layout.caption_height)
            .flat_map(|y| (ox..ox + 28 * layout.scale).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(dark > 20, "tile {tile} has no caption");
    }

    // The text form prints the matrix with a per-class accuracy column.
    let out = ok(&gpu_mlp(&[
        "eval",
        "--model",
        s(&model),
        "--test-size",
        "500",
        "--confusion",
    ]));
    assert!(out.contains("confusion matrix (rows: true class"), "{out}");
    let row0 = out
        .lines()
        .find(|l| l.trim_start().starts_with("0 ") && l.ends_with('%'))
        .unwrap();
    let cells: Vec<u64> = row0
        .split_whitespace()
        .skip(1)
        .take(10)
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(cells, m[0]);
}

#[test]
fn show_weights_draws_each_hidden_unit() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train(dir.path(), "m", &[]);
    let png = dir.path().join("weights.png");
    let out = ok(&gpu_mlp(&[
        "show-weights",
        "--model",
        s(&model),
        "-o",
        s(&png),
    ]));
    assert!(out.contains("wrote 30 of 30"), "{out}");
    let img = read_png(&png);
    let layout = GridLayout::for_tiles(30, 28);
    assert_eq!(img.dimensions(), layout.size());
    let ck = gpu_mlp::checkpoint::Checkpoint::load(&model).unwrap();
    let first = &ck.params.layers[0];
    for unit in [0, 17, 29] {
        let w = &first.weight[unit * 784..(unit + 1) * 784];
        let (ox, oy) = layout.origin(unit);
        let at = |k: usize| {
            let (x, y) = ((k % 28) as u32, (k / 28) as u32);
            img.get_pixel(ox + x * layout.scale, oy + y * layout.scale)
                .0
        };
        let argmax = (0..784).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
        let argmin = (0..784).min_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
        let max_abs = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        if w[argmax] == max_abs {
            assert_eq!(
                at(argmax),
                [255, 0, 0],
                "unit {unit}: largest weight is red"
            );
        } else {
            assert_eq!(
                at(argmin),
                [0, 0, 255],
                "unit {unit}: most negative weight is blue"
            );
        }
        assert_eq!(at(argmin)[2], 255, "negative weights are blue");
        assert_eq!(at(argmax)[0], 255, "positive weights are red");
    }
}

/// Without -o, `plot` writes beside the first metrics file (run.jsonl → run.png) and
/// `show-weights` beside the model (m.safetensors → m-weights.png), each printing the path;
/// a second run finds the file there and refuses (exit 3, naming the path and -o) rather than
/// replace it, leaving its bytes alone; with -o naming it, it is replaced as asked.
#[test]
fn default_output_paths_are_printed_and_never_replace_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (model, metrics) = train(dir.path(), "m", &[]);
    let plotted = dir.path().join("m.png");
    let weights = dir.path().join("m-weights.png");
    let out = ok(&gpu_mlp(&["plot", s(&metrics)]));
    assert!(
        out.contains(&format!("into {}", plotted.display())),
        "{out}"
    );
    assert_eq!(read_png(&plotted).dimensions(), (1200, 500));
    let out = ok(&gpu_mlp(&["show-weights", "--model", s(&model)]));
    assert!(out.contains(&format!("to {}", weights.display())), "{out}");
    assert_eq!(
        read_png(&weights).dimensions(),
        GridLayout::for_tiles(30, 28).size()
    );
    for (args, path) in [
        (vec!["plot", s(&metrics)], &plotted),
        (vec!["show-weights", "--model", s(&model)], &weights),
    ] {
        std::fs::write(path, "the user's own file").unwrap();
        let out = gpu_mlp(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("exists already")
                && err.contains("-o/--output PATH"),
            "{err}"
        );
        assert_eq!(std::fs::read(path).unwrap(), b"the user's own file");
        let mut replace = args.clone();
        replace.extend(["-o", s(path)]);
        ok(&gpu_mlp(&replace));
        read_png(path);
    }
}

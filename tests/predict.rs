//! `gpu-mlp predict` on pictures whose answer is known: MNIST test digits written out as PNG
//! (as they are) and as JPEG (inverted to dark ink on white paper and enlarged), and digits
//! drawn the way a person would (thick dark strokes on a large white canvas).

mod common;
use common::{gpu_mlp, ok};

use image::{GrayImage, ImageFormat, Luma};
use std::path::{Path, PathBuf};

/// A 784-100-10 network trained for 4 epochs on 20,000 images (about 95% test accuracy).
fn trained_model(dir: &Path) -> PathBuf {
    let model = dir.join("model.safetensors");
    ok(&gpu_mlp(&[
        "train",
        "--preset",
        "network2",
        "--train-size",
        "20000",
        "--validation-size",
        "1000",
        "--test-size",
        "1000",
        "--epochs",
        "4",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
    ]));
    model
}

fn predict(model: &Path, images: &[PathBuf]) -> Vec<serde_json::Value> {
    let mut args = vec!["predict", "--json", "--model", model.to_str().unwrap()];
    args.extend(images.iter().map(|p| p.to_str().unwrap()));
    ok(&gpu_mlp(&args))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per image"))
        .collect()
}

#[test]
fn test_set_digits_written_as_png_and_jpeg_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained_model(dir.path());
    let test = gpu_mlp::data::load(
        &gpu_mlp::data::Source::Mnist,
        gpu_mlp::data::SplitSizes {
            train: 1000,
            validation: 0,
            test: Some(60),
        },
    )
    .unwrap()
    .test;
    let mut paths = Vec::new();
    for i in 0..test.len() {
        let img = GrayImage::from_raw(28, 28, test.image(i).to_vec()).unwrap();
        let path = if i % 2 == 0 {
            // As MNIST stores it: light ink on black, 28x28, PNG.
            let p = dir.path().join(format!("{i}.png"));
            img.save_with_format(&p, ImageFormat::Png).unwrap();
            p
        } else {
            // As a scan would look: dark ink on white, 4x larger, JPEG.
            let mut inverted = img.clone();
            image::imageops::invert(&mut inverted);
            let big = image::imageops::resize(&inverted, 112, 112, image::imageops::Triangle);
            let p = dir.path().join(format!("{i}.jpg"));
            big.save_with_format(&p, ImageFormat::Jpeg).unwrap();
            p
        };
        paths.push(path);
    }
    let answers = predict(&model, &paths);
    assert_eq!(answers.len(), test.len());
    let mut right = 0;
    for (i, a) in answers.iter().enumerate() {
        let p: Vec<f64> = a["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{a}");
        assert_eq!(a["inverted"], i % 2 == 1, "{a}");
        right += usize::from(a["class"] == test.labels[i]);
    }
    eprintln!("{right}/60 test digits right after the PNG/JPEG round trip");
    // The model gets about 95% of the test set right; re-centring and the JPEG round trip
    // may cost a digit or two.
    assert!(right >= 54, "{right}/60 right");
}

/// A pen stroke: points joined by straight lines.
type Stroke<'a> = &'a [(f32, f32)];

/// Draws thick round-ended strokes (polylines in a 200x200 box) in black on white paper.
fn hand_drawn(strokes: &[Stroke], path: &Path) {
    let (w, h, radius) = (200u32, 200u32, 11.0f32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    for stroke in strokes {
        for seg in stroke.windows(2) {
            let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
            let steps = ((x1 - x0).hypot(y1 - y0) / 2.0).ceil().max(1.0) as usize;
            for s in 0..=steps {
                let t = s as f32 / steps as f32;
                let (cx, cy) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                for y in (cy - radius) as i32..=(cy + radius) as i32 {
                    for x in (cx - radius) as i32..=(cx + radius) as i32 {
                        let inside = (x as f32 - cx).hypot(y as f32 - cy) <= radius;
                        if inside && x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                            img.put_pixel(x as u32, y as u32, Luma([20]));
                        }
                    }
                }
            }
        }
    }
    img.save(path).unwrap();
}

#[test]
fn hand_drawn_digits_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained_model(dir.path());
    let ring: Vec<(f32, f32)> = (0..=40)
        .map(|i| {
            let a = i as f32 / 40.0 * std::f32::consts::TAU;
            (100.0 + 45.0 * a.cos(), 100.0 + 70.0 * a.sin())
        })
        .collect();
    let digits: Vec<(u8, Vec<Stroke>)> = vec![
        (0, vec![&ring]),
        (1, vec![&[(105.0, 25.0), (100.0, 175.0)]]),
        (7, vec![&[(50.0, 30.0), (150.0, 30.0), (85.0, 175.0)]]),
    ];
    let mut paths = Vec::new();
    for (digit, strokes) in &digits {
        let p = dir.path().join(format!("drawn-{digit}.png"));
        hand_drawn(strokes, &p);
        paths.push(p);
    }
    let answers = predict(&model, &paths);
    for ((digit, _), a) in digits.iter().zip(&answers) {
        eprintln!(
            "drawn {digit}: class {} probability {}",
            a["class"], a["probability"]
        );
        assert_eq!(a["class"], *digit, "drawn {digit}: {a}");
        assert_eq!(a["inverted"], true);
    }
    // The text output names the class and its probability.
    let out = ok(&gpu_mlp(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        paths[1].to_str().unwrap(),
    ]));
    assert!(out.contains(": 1 (probability "), "{out}");
}

#[test]
fn unreadable_images_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained_model(dir.path());
    let bogus = dir.path().join("not-an-image.png");
    std::fs::write(&bogus, b"hello").unwrap();
    let out = gpu_mlp(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        bogus.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not-an-image.png") && !err.contains("panicked"),
        "{err}"
    );
}

/// A prediction whose probability is below 0.5 is flagged uncertain, in the text line and in
/// JSON, and one above it is not. The two models are made exact rather than trained: a
/// 784-10 softmax network with zero weights outputs softmax(b) for every image, so biases
/// b = ln p give class 3 the probability 0.4 in one model and 0.9 in the other.
#[test]
fn predictions_below_one_half_are_flagged_uncertain() {
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("t.safetensors");
    ok(&gpu_mlp(&[
        "train",
        "--layers",
        "784,10",
        "--output",
        "softmax",
        "--cost",
        "cross-entropy",
        "--train-size",
        "100",
        "--validation-size",
        "0",
        "--test-size",
        "10",
        "--epochs",
        "1",
        "--quiet",
        "--save",
        trained.to_str().unwrap(),
    ]));
    let image = dir.path().join("digit.png");
    let test = gpu_mlp::data::load(
        &gpu_mlp::data::Source::Mnist,
        gpu_mlp::data::SplitSizes {
            train: 1,
            validation: 0,
            test: Some(1),
        },
    )
    .unwrap()
    .test;
    GrayImage::from_raw(28, 28, test.image(0).to_vec())
        .unwrap()
        .save_with_format(&image, ImageFormat::Png)
        .unwrap();
    for (p3, uncertain) in [(0.4f32, true), (0.9, false)] {
        let mut ck = gpu_mlp::checkpoint::Checkpoint::load(&trained).unwrap();
        let layer = &mut ck.params.layers[0];
        layer.weight.iter_mut().for_each(|w| *w = 0.0);
        for (c, b) in layer.bias.iter_mut().enumerate() {
            *b = if c == 3 { p3 } else { (1.0 - p3) / 9.0 }.ln();
        }
        let model = dir.path().join(format!("p{p3}.safetensors"));
        ck.save(&model).unwrap();
        let answer = &predict(&model, std::slice::from_ref(&image))[0];
        assert_eq!(answer["class"], 3, "{answer}");
        let p = answer["probability"].as_f64().unwrap();
        assert!((p - p3 as f64).abs() < 1e-5, "{answer}");
        assert_eq!(answer["uncertain"], uncertain, "{answer}");
        let text = ok(&gpu_mlp(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            image.to_str().unwrap(),
        ]));
        let expected = match uncertain {
            true => format!(": 3 (probability {p3:.3}, uncertain: below 0.5)"),
            false => format!(": 3 (probability {p3:.3})"),
        };
        assert!(text.contains(&expected), "{text}");
    }
}

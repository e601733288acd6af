//! Models that say what they are (issue 11, item 3): a checkpoint records the data set it was
//! trained on, `eval`/`--resume`/`predict` default to it and refuse other data (a model of one
//! data set scored on another) unless told `--any-data`, old checkpoints without the record
//! still load with a warning; the training header names data, preset and init in the flags'
//! spellings; `--resume` with fewer `--epochs` than done says so; `--save-best` keeps the best
//! epoch's model beside the last.

mod common;
use common::{gpu_mlp, ok, one_line_failure, s, sha256};

use gpu_mlp::checkpoint::Checkpoint;
use gpu_mlp::data::record::{DataRecord, KNOWN};
use gpu_mlp::data::{load_recorded, Source, SplitSizes, FASHION_MNIST_DIR};
use std::path::Path;

/// Writes a tiny data set in IDX format to `dir`: 8x8 images, labels 0..10, 200 training and
/// 40 test images, pixels from a linear congruential generator seeded with `seed` (so two
/// seeds give two data sets with no file in common).
fn tiny_idx(dir: &Path, seed: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let mut x = seed;
    let mut next = move || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    };
    for (prefix, n) in [("train", 200u32), ("t10k", 40)] {
        let mut images = vec![0, 0, 8, 3];
        for d in [n, 8, 8] {
            images.extend(d.to_be_bytes());
        }
        let mut labels = vec![0, 0, 8, 1];
        labels.extend(n.to_be_bytes());
        for i in 0..n {
            images.extend((0..64).map(|_| next()));
            labels.push(((i + seed) % 10) as u8);
        }
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}

const TINY: [&str; 10] = [
    "--layers",
    "64,12,10",
    "--train-size",
    "150",
    "--validation-size",
    "50",
    "--epochs",
    "2",
    "--quiet",
    "--eta",
];

fn train_tiny(data: &Path, model: &Path) {
    let mut args = vec!["train"];
    args.extend(TINY);
    args.extend(["1.0", "--data-dir", s(data), "--save", s(model)]);
    ok(&gpu_mlp(&args));
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A model of data set A: `eval` without data flags reads A again (from the recorded
/// directory); on B (no file in common) it is refused with exit 2, naming what the model was
/// trained on and the override; `--any-data` scores it anyway with a warning; data sharing
/// some files (A's training files, B's test files) is scored with a warning. `--resume`
/// refuses B the same way (the checkpoint unchanged) and with `--any-data` continues on B,
/// which the checkpoint then records; once that directory is gone, `eval` says what it needs.
#[test]
fn eval_and_resume_refuse_another_data_set() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, mixed) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("ab"),
    );
    tiny_idx(&a, 1);
    tiny_idx(&b, 2);
    std::fs::create_dir_all(&mixed).unwrap();
    for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        std::fs::copy(a.join(f), mixed.join(f)).unwrap();
    }
    for f in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::copy(b.join(f), mixed.join(f)).unwrap();
    }
    let model = tmp.path().join("a.safetensors");
    train_tiny(&a, &model);
    let ck = Checkpoint::load(&model).unwrap();
    let record = ck.data.clone().expect("the checkpoint records its data");
    let a_abs = std::fs::canonicalize(&a).unwrap();
    assert_eq!(record.name, None);
    assert_eq!(record.dir.as_deref(), Some(a_abs.to_str().unwrap()));
    assert_eq!((record.rows, record.cols), (8, 8));
    assert_eq!(record.sha256.len(), 4);

    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", s(&model), "--train-size", "150"];
        args.extend(["--validation-size", "50"]);
        args.extend(extra);
        gpu_mlp(&args)
    };
    let own = eval(&[]);
    assert!(ok(&own).contains("test accuracy"), "{}", stderr(&own));
    assert_eq!(stderr(&own), "", "no warning on the model's own data");
    assert_eq!(ok(&eval(&["--data-dir", s(&a)])), ok(&own));

    let refused = eval(&["--data-dir", s(&b)]);
    one_line_failure(
        &refused,
        2,
        &[
            &format!("was trained on the data in {}", a_abs.display()),
            "--any-data",
            &format!("--data-dir {}", a_abs.display()),
        ],
    );
    let forced = eval(&["--data-dir", s(&b), "--any-data"]);
    assert!(ok(&forced).contains("test accuracy"));
    assert!(
        stderr(&forced).contains("as --any-data asks"),
        "{}",
        stderr(&forced)
    );
    let partly = eval(&["--data-dir", s(&mixed)]);
    assert!(ok(&partly).contains("test accuracy"));
    assert!(stderr(&partly).contains("shares only some of its four files"));

    let mut resume = vec!["train", "--resume", s(&model), "--epochs", "3", "--quiet"];
    resume.extend(["--train-size", "150", "--validation-size", "50"]);
    let before = sha256(&model);
    let mut on_b = resume.clone();
    on_b.extend(["--data-dir", s(&b), "--save", s(&model)]);
    one_line_failure(
        &gpu_mlp(&on_b),
        2,
        &["was trained on the data in", "--any-data"],
    );
    assert_eq!(
        sha256(&model),
        before,
        "a refused resume leaves the checkpoint"
    );
    on_b.push("--any-data");
    ok(&gpu_mlp(&on_b));
    let resumed = Checkpoint::load(&model).unwrap();
    assert_eq!(resumed.train.unwrap().1.epoch, 3);
    // The record is of the data the checkpoint's last epochs trained on.
    let b_abs = std::fs::canonicalize(&b).unwrap();
    assert_eq!(resumed.data.unwrap().dir.as_deref(), b_abs.to_str());

    std::fs::remove_dir_all(&b).unwrap();
    one_line_failure(
        &eval(&[]),
        2,
        &[
            &format!("the data in {}", b_abs.display()),
            "which is no longer there",
            "--data-dir",
        ],
    );
}

/// A checkpoint written before the data record (metadata without `data`, made here by
/// saving one with the record removed) still evaluates, with a warning saying so; its
/// tensors are the same bytes as the recorded one's.
#[test]
fn checkpoint_without_a_record_loads_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    tiny_idx(&a, 3);
    let model = tmp.path().join("m.safetensors");
    train_tiny(&a, &model);
    let mut ck = Checkpoint::load(&model).unwrap();
    ck.data = None;
    let old = tmp.path().join("old.safetensors");
    ck.save(&old).unwrap();
    let bytes = std::fs::read(&old).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("\"data\":"));
    assert!(String::from_utf8_lossy(&std::fs::read(&model).unwrap()).contains("\"data\":"));
    let out = gpu_mlp(&[
        "eval",
        "--model",
        s(&old),
        "--data-dir",
        s(&a),
        "--train-size",
        "150",
        "--validation-size",
        "50",
    ]);
    assert!(ok(&out).contains("test accuracy"));
    let err = stderr(&out);
    assert!(
        err.starts_with("warning: ") && err.contains("does not record the data set"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The tensors are byte for byte the same: only the metadata differs.
    let tensors = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        b[8 + n..].to_vec()
    };
    assert_eq!(tensors(&old), tensors(&model));
}

/// The shipped MNIST is recognised by name from its checksums, which are those of the
/// catalogue's published content MD5s as well (src/download/catalogue.rs): the two tables
/// agree. The same for the Debian copy of Fashion-MNIST where it is installed.
#[test]
fn known_data_sets_are_named_and_agree_with_the_catalogue() {
    use md5::{Digest, Md5};
    let sizes = SplitSizes {
        train: 50_000,
        validation: 10_000,
        test: None,
    };
    let mut sets = vec![(Source::Mnist, "mnist", gpu_mlp::download::MNIST)];
    if Path::new(FASHION_MNIST_DIR).is_dir() {
        sets.push((
            Source::FashionMnist,
            "fashion-mnist",
            gpu_mlp::download::FASHION_MNIST,
        ));
    }
    for (source, name, catalogue) in sets {
        let (_, record) = load_recorded(&source, sizes).unwrap();
        assert_eq!(record.name.as_deref(), Some(name));
        assert_eq!(record.dir, None, "a known set is named, not located");
        let known = KNOWN.iter().find(|(n, _)| *n == name).unwrap().1;
        for (file, (stem, sum)) in catalogue
            .files
            .iter()
            .zip(gpu_mlp::data::record::FILES.iter().zip(known))
        {
            assert_eq!(record.sha256[*stem], sum, "{name} {stem}");
            let gz = std::fs::read(source.dir().join(format!("{stem}.gz"))).unwrap();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut content)
                .unwrap();
            let md5: String = Md5::digest(&content)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(md5, file.content_md5, "{name} {stem}");
        }
    }
}

/// With Debian's Fashion-MNIST (`apt-get install -y dataset-fashion-mnist`): a model trained
/// on it is refused on MNIST, with a message naming Fashion-MNIST and the override, and
/// `eval` without data flags reads Fashion-MNIST. Skipped without the package, unless
/// GPU_MLP_REQUIRE_FASHION=1, when it fails instead.
#[test]
fn fashion_mnist_model_is_refused_on_mnist() {
    if !Path::new(FASHION_MNIST_DIR).is_dir() {
        assert!(
            std::env::var("GPU_MLP_REQUIRE_FASHION").as_deref() != Ok("1"),
            "GPU_MLP_REQUIRE_FASHION=1 but {FASHION_MNIST_DIR} is missing"
        );
        eprintln!(
            "skipped: {FASHION_MNIST_DIR} is missing (apt-get install -y dataset-fashion-mnist)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("fashion.safetensors");
    let sizes = [
        "--train-size",
        "1000",
        "--validation-size",
        "200",
        "--test-size",
        "200",
    ];
    let mut args = vec![
        "train",
        "--dataset",
        "fashion-mnist",
        "--epochs",
        "1",
        "--quiet",
    ];
    args.extend(sizes);
    args.extend(["--save", s(&model)]);
    ok(&gpu_mlp(&args));
    let record: DataRecord = Checkpoint::load(&model).unwrap().data.unwrap();
    assert_eq!(record.name.as_deref(), Some("fashion-mnist"));
    let mut eval = vec!["eval", "--model", s(&model)];
    eval.extend(sizes);
    let own = gpu_mlp(&eval);
    assert!(ok(&own).contains("test accuracy"));
    assert_eq!(stderr(&own), "");
    eval.extend(["--dataset", "mnist"]);
    one_line_failure(
        &gpu_mlp(&eval),
        2,
        &[
            "was trained on fashion-mnist, 28x28 images, but the data given is mnist",
            "--dataset fashion-mnist",
            "--any-data",
        ],
    );
}

/// The header names the data set, preset and init and uses the flags' spellings
/// (`cross-entropy`, `sgd`); a count of one is singular ("1 epoch") in the header and summary;
/// a sweep's header names the data set too.
#[test]
fn header_names_data_preset_init_in_flag_spellings() {
    let out = gpu_mlp(&[
        "train",
        "--epochs",
        "1",
        "--train-size",
        "500",
        "--validation-size",
        "100",
        "--test-size",
        "100",
        "--cost",
        "cross-entropy",
        "--log-format",
        "text",
    ]);
    let stdout = ok(&out);
    // The first line names the backend and why (tests/backend_choice.rs); the header follows.
    let header = stdout
        .lines()
        .find(|l| l.starts_with("training "))
        .unwrap_or_else(|| panic!("no header in {stdout}"));
    let expected_start = "training 784,30,10 (sigmoid output, cross-entropy cost, normal init) on mnist (28x28, 500 training images) with cpu (";
    assert!(header.starts_with(expected_start), "{header}");
    assert!(
        header.ends_with("; preset nielsen; η=3 λ=0 batch 10 sgd; 1 epoch"),
        "{header}"
    );
    assert!(
        !stdout.contains("CrossEntropy") && !stdout.contains("Sgd"),
        "{stdout}"
    );
    let summary = stdout.lines().last().unwrap();
    assert!(summary.starts_with("completed after 1 epoch;"), "{summary}");
    assert!(!stdout.contains("1 epochs"), "{stdout}");

    let sweep = ok(&gpu_mlp(&[
        "train",
        "--epochs",
        "1",
        "--eta",
        "1,2",
        "--train-size",
        "300",
        "--validation-size",
        "100",
        "--test-size",
        "100",
        "--log-format",
        "text",
    ]));
    let header = sweep
        .lines()
        .find(|l| l.starts_with("sweep of "))
        .unwrap_or_else(|| panic!("no sweep header in {sweep}"));
    assert!(
        header.starts_with("sweep of 2 members (eta) on mnist (28x28) with cpu"),
        "{header}"
    );
    assert!(
        header.ends_with(", in 1 group; 300 training images"),
        "{header}"
    );
}

/// `--resume` with `--epochs` below the checkpoint's epochs is refused (exit 2) with the
/// count and what to give instead, and leaves the checkpoint as it was; `--epochs` equal to
/// them says there is nothing to train; the resumed header says where it came from.
#[test]
fn resume_with_fewer_epochs_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m.safetensors");
    let m = s(&model);
    let small = [
        "--train-size",
        "500",
        "--validation-size",
        "100",
        "--test-size",
        "100",
    ];
    let mut first = vec!["train", "--epochs", "2", "--quiet", "--save", m];
    first.extend(small);
    ok(&gpu_mlp(&first));
    let before = sha256(&model);
    let mut fewer = vec!["train", "--resume", m, "--save", m, "--epochs", "1"];
    fewer.extend(small);
    one_line_failure(
        &gpu_mlp(&fewer),
        2,
        &[
            &format!("--epochs 1 is fewer than the 2 epochs {m} has already trained"),
            "give --epochs above 2",
        ],
    );
    assert_eq!(sha256(&model), before);
    let mut same = vec!["train", "--resume", m, "--save", m, "--epochs", "2"];
    same.extend(small);
    let run = gpu_mlp(&same);
    let out = ok(&run);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.starts_with(&format!("note: {m} has already trained all 2 epochs")),
        "{err}"
    );
    assert!(
        out.contains(&format!("resumed from {m} after 2 epochs")),
        "{out}"
    );
    assert!(!out.contains("epoch   "), "no epoch ran: {out}");
}

/// `--save-best` keeps the best epoch by validation accuracy beside the last one (`--save`):
/// for a run, the best file is the checkpoint of the last run's best epoch; for a sweep, of
/// the best member's best epoch. Without validation accuracy measured it is refused up front.
#[test]
fn save_best_keeps_the_best_epoch_beside_the_last() {
    let tmp = tempfile::tempdir().unwrap();
    let (last, best) = (tmp.path().join("last.st"), tmp.path().join("best.st"));
    // η = 6 on 300 images: a large step, so the validation accuracy moves up and down.
    let small = [
        "--train-size",
        "300",
        "--validation-size",
        "200",
        "--test-size",
        "50",
    ];
    let mut args = vec!["train", "--epochs", "6", "--eta", "6", "--quiet"];
    args.extend(small);
    args.extend(["--save", s(&last), "--save-best", s(&best)]);
    ok(&gpu_mlp(&args));
    let (_, l) = Checkpoint::load(&last).unwrap().train.unwrap();
    let (_, b) = Checkpoint::load(&best).unwrap().train.unwrap();
    assert_eq!(l.epoch, 6);
    assert_eq!(b.epoch, l.best_epoch, "the best file is the best epoch's");
    assert_eq!(b.best_validation_accuracy, l.best_validation_accuracy);

    let dir = tmp.path().join("sweep");
    let sweep_best = tmp.path().join("sweep-best.st");
    let mut args = vec!["train", "--epochs", "3", "--eta", "0.05,3", "--quiet"];
    args.extend(small);
    args.extend(["--save", s(&dir), "--save-best", s(&sweep_best)]);
    ok(&gpu_mlp(&args));
    let (cfg, b) = Checkpoint::load(&sweep_best).unwrap().train.unwrap();
    let members: Vec<_> = ["eta-0.05", "eta-3"]
        .iter()
        .map(|stem| {
            let p = dir.join(format!("{stem}.safetensors"));
            Checkpoint::load(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .train
                .unwrap()
        })
        .collect();
    let winner = members
        .iter()
        .max_by(|x, y| {
            x.1.best_validation_accuracy
                .partial_cmp(&y.1.best_validation_accuracy)
                .unwrap()
        })
        .unwrap();
    assert_eq!(cfg.eta, winner.0.eta);
    assert_eq!(b.epoch, winner.1.best_epoch);

    let mut args = vec![
        "train",
        "--epochs",
        "1",
        "--monitor",
        "train-cost",
        "--quiet",
    ];
    args.extend(small);
    args.extend(["--save-best", s(&best)]);
    one_line_failure(
        &gpu_mlp(&args),
        2,
        &["--save-best", "--monitor", "validation-accuracy"],
    );
    let mut args = vec!["train", "--epochs", "1", "--eta", "1,2", "--quiet"];
    args.extend(["--train-size", "300", "--validation-size", "0"]);
    args.extend(["--save-best", s(&best)]);
    one_line_failure(
        &gpu_mlp(&args),
        2,
        &["--save-best", "--validation-size is 0"],
    );
}

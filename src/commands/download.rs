//! `gpu-mlp download mnist|fashion-mnist`: the four IDX files from the data set's mirrors,
//! checked against their MD5s, with a progress bar per file on a terminal. A download that fails
//! removes the directories it created and left empty; Fashion-MNIST's Debian copy, when it is
//! installed, is pointed out (it trains with no download).

use crate::cli::{DownloadArgs, DownloadSet};
use crate::download::{self, Downloader, Event, Fetched, FASHION_MNIST, MNIST};
use crate::error::{Error, Result};
use crate::outputs::Outputs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn run(args: &DownloadArgs) -> Result<()> {
    let catalogue = match args.dataset {
        DownloadSet::Mnist => &MNIST,
        DownloadSet::FashionMnist => &FASHION_MNIST,
    };
    if args.timeout == 0 {
        return Err(Error::config("--timeout must be at least 1 second"));
    }
    if let Some(bad) = args
        .mirror
        .iter()
        .find(|m| !(m.starts_with("http://") || m.starts_with("https://")))
    {
        return Err(Error::config(format!(
            "--mirror {bad}: a mirror is an http:// or https:// base URL"
        )));
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| download::default_dir(catalogue));
    let debian = installed_copy(args.dataset);
    if let Some(d) = &debian {
        eprintln!(
            "note: Fashion-MNIST is installed in {} (Debian's dataset-fashion-mnist); `train --dataset fashion-mnist` uses it with no download",
            d.display()
        );
    }
    let created = missing_dirs(&dir);
    let result = fetch_all(args, catalogue, &dir);
    if result.is_err() {
        // Deepest first; remove_dir refuses a directory that is not empty.
        for d in &created {
            let _ = std::fs::remove_dir(d);
        }
    }
    match (result, debian) {
        (Err(Error::Network(m)), Some(d)) => Err(Error::Network(format!(
            "{m}; or train on the installed copy in {} with --dataset fashion-mnist",
            d.display()
        ))),
        (result, _) => result,
    }
}

/// Fashion-MNIST's Debian copy, where the package is installed.
fn installed_copy(set: DownloadSet) -> Option<PathBuf> {
    let dir = Path::new(crate::data::FASHION_MNIST_DIR);
    (set == DownloadSet::FashionMnist && dir.is_dir()).then(|| dir.to_path_buf())
}

/// `dir` and those of its ancestors that do not exist, deepest first: what creating it creates.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Every file of `catalogue` into `dir`, and the line that says where they are.
fn fetch_all(args: &DownloadArgs, catalogue: &download::Catalogue, dir: &Path) -> Result<()> {
    let dir = dir.to_path_buf();
    // The directory and its four files checked, and locked against a second download into
    // them, before anything is fetched.
    let mut outputs = Outputs::new().fills_dir("--dir", Some(&dir));
    for file in &catalogue.files {
        outputs = outputs.writes("--dir", Some(&dir.join(file.name)));
    }
    let _held = outputs.check()?.lock()?;
    let mirrors = if args.only_mirrors {
        args.mirror.clone()
    } else {
        download::mirrors(catalogue, &args.mirror)
    };
    let downloader = Downloader::new(Duration::from_secs(args.timeout));
    for file in &catalogue.files {
        let bar = crate::progress::bytes_bar(None, file.name);
        let outcome = downloader.fetch(file, &mirrors, &dir, |event| match event {
            Event::Start { offset, total, .. } => {
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(offset);
            }
            Event::Progress(n) => bar.inc(n),
            Event::Failed { url, reason } => {
                bar.suspend(|| eprintln!("warning: {url}: {reason}"));
            }
        });
        bar.finish_and_clear();
        match outcome? {
            Fetched::AlreadyPresent => println!(
                "{}: already present, checksum ok",
                dir.join(file.name).display()
            ),
            Fetched::Downloaded { url, attempts } => println!(
                "{}: downloaded from {url}{}, checksum ok",
                dir.join(file.name).display(),
                if attempts > 1 {
                    format!(" in {attempts} transfers (resumed)")
                } else {
                    String::new()
                }
            ),
        }
    }
    println!(
        "{} is in {}; train on it with --data-dir {}",
        catalogue.name,
        dir.display(),
        dir.display()
    );
    Ok(())
}

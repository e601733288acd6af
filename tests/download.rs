//! `gpu-mlp download` against a real HTTP server that the test runs on 127.0.0.1, serving the
//! shipped MNIST files: good copies (with Range support), corrupt copies, 404s, and transfers
//! cut off halfway. Nothing here reaches beyond the loopback interface: every run passes
//! --only-mirrors.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/mnist")
        .join(name)
}

/// One request the server saw: the path and the Range header, if any.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    range: Option<u64>,
}

/// A one-connection-at-a-time HTTP/1.1 server on an ephemeral loopback port. Paths are
/// /MODE/FILE with MODE one of good, corrupt, missing, truncate. It serves until the test
/// process ends (the thread is detached; it only ever accepts loopback connections).
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &log);
            }
        });
        Server { base, seen }
    }

    fn url(&self, mode: &str) -> String {
        format!("{}/{mode}", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse::<u64>().ok();
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        range,
    });
    let mut out = stream;
    let (mode, name) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    let Ok(mut body) = std::fs::read(shipped(name)) else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    match mode {
        "missing" => {
            return out.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
        }
        "corrupt" => {
            let mid = body.len() / 2;
            body[mid] ^= 0x5a;
        }
        _ => {}
    }
    let total = body.len();
    match range {
        Some(from) if (from as usize) < total && mode != "corrupt" => {
            let rest = &body[from as usize..];
            write!(
                out,
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{total}\r\nConnection: close\r\n\r\n",
                rest.len(),
                total - 1
            )?;
            out.write_all(rest)
        }
        _ => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n"
            )?;
            if mode == "truncate" {
                // Half the promised bytes, then the connection drops.
                out.write_all(&body[..total / 2])?;
                out.flush()?;
                return out.shutdown(std::net::Shutdown::Both);
            }
            out.write_all(&body)
        }
    }
}

fn download(dir: &Path, mirrors: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"));
    cmd.args([
        "download",
        "mnist",
        "--only-mirrors",
        "--timeout",
        "10",
        "--dir",
    ])
    .arg(dir);
    for m in mirrors {
        cmd.args(["--mirror", m]);
    }
    // Straight to the loopback server, whatever proxy the environment names.
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("run gpu-mlp download")
}

fn assert_files_are_the_shipped_ones(dir: &Path) {
    for name in FILES {
        let got = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(
            got == std::fs::read(shipped(name)).unwrap(),
            "{name} differs"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn mirrors_are_tried_in_turn_until_one_serves_a_good_copy() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = download(
        dir.path(),
        &[
            server.url("missing"),
            server.url("corrupt"),
            server.url("good"),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_files_are_the_shipped_ones(dir.path());
    assert!(stderr.contains("404"), "{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert_eq!(stdout.matches("checksum ok").count(), 4, "{stdout}");
    for name in FILES {
        for mode in ["missing", "corrupt", "good"] {
            let path = format!("/{mode}/{name}");
            assert!(
                server.seen().iter().any(|s| s.path == path),
                "{path} not asked for"
            );
        }
    }
    // A second run finds the files, checks them and fetches nothing.
    let before = server.seen().len();
    let out = download(dir.path(), &[server.url("good")]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("already present, checksum ok")
            .count(),
        4
    );
    assert_eq!(server.seen().len(), before);
    // The downloaded directory is a data set `train` can read.
    let out = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"))
        .args([
            "train",
            "--epochs",
            "1",
            "--train-size",
            "1000",
            "--validation-size",
            "500",
        ])
        .args(["--test-size", "500", "--quiet", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_transfer_cut_off_halfway_resumes_with_a_range_request() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = download(dir.path(), &[server.url("truncate")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_files_are_the_shipped_ones(dir.path());
    assert_eq!(stdout.matches("(resumed)").count(), 4, "{stdout}");
    for name in FILES {
        let half = std::fs::metadata(shipped(name)).unwrap().len() / 2;
        let ranges: Vec<_> = server
            .seen()
            .into_iter()
            .filter(|s| s.path.ends_with(name))
            .map(|s| s.range)
            .collect();
        assert_eq!(ranges, vec![None, Some(half)], "{name}");
    }
}

#[test]
fn a_part_left_by_an_earlier_run_is_resumed() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let name = FILES[1];
    let bytes = std::fs::read(shipped(name)).unwrap();
    std::fs::write(dir.path().join(format!(".{name}.part")), &bytes[..1000]).unwrap();
    let out = download(dir.path(), &[server.url("good")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_files_are_the_shipped_ones(dir.path());
    let seen = server.seen();
    let asked = seen.iter().find(|s| s.path.ends_with(name)).unwrap();
    assert_eq!(asked.range, Some(1000));
}

#[test]
fn no_good_mirror_is_an_error_that_leaves_nothing_behind() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = download(dir.path(), &[server.url("missing"), server.url("corrupt")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ")
            && last.contains("train-images-idx3-ubyte.gz")
            && last.contains("404")
            && last.contains("checksum mismatch")
            && last.contains("--mirror"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

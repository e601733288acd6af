//! `gpu-mlp download` against a real HTTP server that the test runs on 127.0.0.1, serving the
//! shipped MNIST files: good copies (with Range support), corrupt copies, 404s, transfers cut
//! off halfway, and the bounds: a server that floods (the file then tens of megabytes more, or
//! announcing 400 MB), and one that trickles (a few bytes at a time, each read kept alive). Nothing here reaches beyond the loopback interface: every run passes
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

/// One request the server saw: the path, the Range header, if any, and the body bytes the
/// server managed to send.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    range: Option<u64>,
    sent: u64,
}

/// A one-connection-at-a-time HTTP/1.1 server on an ephemeral loopback port. Paths are
/// /MODE/FILE with MODE one of good, corrupt, missing, truncate, flood (the file, then up to
/// 64 MiB of zeros, no length), huge (the same, announced as 400,000,000 bytes) and trickle
/// (the t10k label file 64 bytes every 50 ms; the others as good). It serves until the test
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
    let index = {
        let mut log = log.lock().unwrap();
        log.push(Seen {
            path: path.clone(),
            range,
            sent: 0,
        });
        log.len() - 1
    };
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
    let count = |n: usize| log.lock().unwrap()[index].sent += n as u64;
    if mode == "flood" || mode == "huge" {
        let length = if mode == "huge" {
            "Content-Length: 400000000\r\n"
        } else {
            ""
        };
        write!(out, "HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n")?;
        out.write_all(&body)?;
        count(total);
        let zeros = vec![0u8; 64 * 1024];
        for _ in 0..1024 {
            out.write_all(&zeros)?;
            count(zeros.len());
        }
        return Ok(());
    }
    if mode == "trickle" && name.starts_with("t10k-labels") {
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
        )?;
        for piece in body.chunks(64) {
            out.write_all(piece)?;
            out.flush()?;
            count(piece.len());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        return Ok(());
    }
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
    download_within(dir, mirrors, 10)
}

/// `download` with `--timeout` of `timeout` seconds.
fn download_within(dir: &Path, mirrors: &[String], timeout: u64) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"));
    cmd.args(["download", "mnist", "--only-mirrors", "--timeout"])
        .arg(timeout.to_string())
        .arg("--dir")
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
    assert_eq!(out.status.code(), Some(7), "{stderr}");
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

/// A server that sends more than the file — the file and then 64 MiB more without a length, or
/// a length of 400 MB — is cut off: the announced length is refused before the body is read,
/// the flood is stopped right after the gzip stream ends (the server gets to send the file and
/// at most what the sockets buffer), the partial copy is deleted, and the next mirror's good
/// copy is installed.
#[test]
fn a_server_sending_more_than_the_file_is_cut_off() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = download(
        dir.path(),
        &[server.url("huge"), server.url("flood"), server.url("good")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_files_are_the_shipped_ones(dir.path());
    assert_eq!(
        stderr.matches("announces 400000000 bytes").count(),
        4,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("after the end of the gzip stream").count(),
        4,
        "{stderr}"
    );
    for seen in server
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/flood/"))
    {
        let name = seen.path.trim_start_matches("/flood/");
        let size = std::fs::metadata(shipped(name)).unwrap().len();
        assert!(
            seen.sent <= size + 16 * 1024 * 1024,
            "{name}: the server sent {} bytes for a {size}-byte file",
            seen.sent
        );
    }
}

/// A server that keeps every read alive but delivers a file at 1.3 KB/s is given up at the
/// file's deadline (--timeout 1 s plus 1 s per 16 KiB: 1.3 s for the 4,542-byte t10k labels,
/// which the trickle would take 3.6 s to send), and the next mirror used.
#[test]
fn a_trickling_server_is_given_up_at_the_deadline() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let out = download_within(dir.path(), &[server.url("trickle"), server.url("good")], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_files_are_the_shipped_ones(dir.path());
    assert_eq!(stderr.matches("too slow").count(), 1, "{stderr}");
    let trickled = server
        .seen()
        .into_iter()
        .find(|s| s.path == "/trickle/t10k-labels-idx1-ubyte.gz")
        .unwrap();
    assert!(
        trickled.sent < 4542,
        "the whole trickle was taken: {trickled:?}"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

/// A target that is a fifo is refused before anything is fetched, without blocking.
#[test]
fn a_target_that_is_not_a_regular_file_is_refused() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join(FILES[2]);
    if !Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("note: mkfifo failed; skipped");
        return;
    }
    let out = download(dir.path(), &[server.url("good")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--dir") && stderr.contains("fifo"),
        "{stderr}"
    );
    assert!(server.seen().is_empty(), "fetched before checking");
}

/// A mirror that cannot be connected to (a closed loopback port: connection refused, as when
/// the network is down) is tried three times with waits of 1 s and 2 s between, then the
/// download fails with exit 7 saying the network is unreachable, not that a file is malformed;
/// the directories it created for --dir are removed again, being empty. For Fashion-MNIST, the
/// installed Debian copy is pointed out where there is one.
#[test]
fn an_unreachable_network_is_named_and_leaves_no_directory() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}");
    let parent = tempfile::tempdir().unwrap();
    // Into an existing directory, at the same time (each run waits 3 s): the directory stays,
    // and so does a file of the user's in it.
    let kept = parent.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    std::fs::write(kept.join("notes.txt"), "mine").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpu-mlp"));
    cmd.args([
        "download",
        "fashion-mnist",
        "--only-mirrors",
        "--timeout",
        "5",
    ])
    .args(["--mirror", &closed, "--dir"])
    .arg(&kept)
    .env("NO_PROXY", "127.0.0.1,localhost");
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env_remove(var);
    }
    let fashion = std::thread::spawn(move || cmd.output().unwrap());
    let dir = parent.path().join("new").join("mnist");
    let out = download(&dir, std::slice::from_ref(&closed));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ")
            && last.contains("the network is unreachable")
            && last.contains("cannot connect")
            && !last.contains("malformed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("trying again in 1 s") && stderr.contains("trying again in 2 s"),
        "{stderr}"
    );
    assert!(
        !parent.path().join("new").exists(),
        "the created directory is left"
    );

    let out = fashion.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(std::fs::read(kept.join("notes.txt")).unwrap(), b"mine");
    let installed = Path::new(gpu_mlp::data::FASHION_MNIST_DIR).is_dir();
    assert_eq!(
        stderr.contains("note: Fashion-MNIST is installed in /usr/share/datasets/fashion-mnist"),
        installed,
        "{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .last()
            .unwrap_or("")
            .contains("--dataset fashion-mnist"),
        installed,
        "{stderr}"
    );
}

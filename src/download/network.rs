//! When the network itself is the problem: which request failures mean a mirror could not be
//! reached at all (its name did not resolve, nothing answered on its port, no route to it), and
//! how long to wait before trying a mirror again.

use std::io::ErrorKind;
use std::time::Duration;

/// Whether a request that got no response failed to reach the server: a DNS failure, a refused
/// or timed-out connection, an unreachable host or network. Anything else (TLS, a protocol
/// error) means the server was reached.
pub fn unreachable(e: &ureq::Error) -> bool {
    use ureq::{Error, Timeout};
    match e {
        Error::HostNotFound | Error::ConnectionFailed => true,
        Error::Timeout(t) => matches!(t, Timeout::Resolve | Timeout::Connect),
        Error::Io(io) => {
            matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::NetworkDown
                    | ErrorKind::AddrNotAvailable
            ) || io.to_string().contains("failed to lookup address")
        }
        _ => false,
    }
}

/// The wait before the `attempt`-th transfer of a file from one mirror (from 2; the first is
/// not delayed): 1 s, then doubling (2 s, 4 s, …), so that a mirror or network that is briefly
/// down is not hammered, and never past the file's deadline `left`.
pub fn backoff(attempt: usize, left: Duration) -> Duration {
    let exp = attempt.saturating_sub(2).min(6) as u32;
    Duration::from_secs(1u64 << exp).min(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits grow 1 s, 2 s, 4 s and stop at the deadline; DNS and connection failures count
    /// as unreachable, an HTTP-level failure does not.
    #[test]
    fn waits_double_and_only_connection_failures_are_unreachable() {
        let long = Duration::from_secs(60);
        assert_eq!(backoff(2, long), Duration::from_secs(1));
        assert_eq!(backoff(3, long), Duration::from_secs(2));
        assert_eq!(backoff(4, long), Duration::from_secs(4));
        assert_eq!(
            backoff(3, Duration::from_millis(300)),
            Duration::from_millis(300)
        );
        assert!(unreachable(&ureq::Error::HostNotFound));
        assert!(unreachable(&ureq::Error::Io(std::io::Error::from(
            ErrorKind::ConnectionRefused
        ))));
        assert!(unreachable(&ureq::Error::Timeout(ureq::Timeout::Connect)));
        assert!(!unreachable(&ureq::Error::Timeout(ureq::Timeout::PerRead)));
        assert!(!unreachable(&ureq::Error::StatusCode(500)));
    }
}

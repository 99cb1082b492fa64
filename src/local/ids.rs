//! Server-generated values of the embedded Admin API: timestamps and random ids.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;

/// The current time as Allma writes it: ISO-8601 UTC with milliseconds and `Z`.
pub(crate) fn now() -> String {
    format!("{:.3}", Timestamp::now())
}

/// 64 random bits. `RandomState` is seeded from the OS once per thread and perturbed per
/// instance; mixing in a counter and the clock makes every call distinct. Not for secrets.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_i128(Timestamp::now().as_nanosecond());
    hasher.finish()
}

/// A random UUID v4 in its canonical lower-case text form.
pub(crate) fn uuid() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `n` random lower-case hex characters (at most 16), e.g. for `start_step_xxxxxxxx`.
pub(crate) fn hex(n: usize) -> String {
    format!("{:016x}", random_u64())[..n.min(16)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    }

    #[test]
    fn uuids_are_v4_and_distinct() {
        let (a, b) = (uuid(), uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}

//! The server's own resident memory, for `/health`, `/metrics` and the load reports.

/// `VmRSS` of this process in bytes (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_plausible_rss() {
        let rss = super::resident_bytes().unwrap();
        assert!(rss > 100_000, "{rss}");
    }
}

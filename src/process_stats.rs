//! Resident memory and CPU time of a process on this machine (Linux): the server's own, for
//! `/health`, `/metrics` and load reports, or another server's by its pid, so that a load run
//! can measure any server the same way.

/// Which process.
#[derive(Debug, Clone, Copy)]
pub enum Process {
    Own,
    Pid(u32),
}

impl Process {
    fn read(self, file: &str) -> Option<String> {
        let path = match self {
            Process::Own => format!("/proc/self/{file}"),
            Process::Pid(pid) => format!("/proc/{pid}/{file}"),
        };
        std::fs::read_to_string(path).ok()
    }
}

/// `VmRSS` of the process in bytes.
pub fn resident_bytes(process: Process) -> Option<u64> {
    let status = process.read("status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time the process used, in seconds.
pub fn cpu_seconds(process: Process) -> Option<f64> {
    let stat = process.read("stat")?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_figures_of_this_process_by_either_name() {
        for process in [Process::Own, Process::Pid(std::process::id())] {
            let rss = resident_bytes(process).unwrap();
            assert!(rss > 100_000, "{rss}");
            let start = cpu_seconds(process).unwrap();
            let mut x = 0u64;
            for i in 0..50_000_000u64 {
                x = x.wrapping_add(std::hint::black_box(i));
            }
            std::hint::black_box(x);
            assert!(cpu_seconds(process).unwrap() > start, "{process:?} used CPU");
        }
    }

    #[test]
    fn a_process_that_does_not_exist_has_no_figures() {
        // Above the kernel's largest pid (2^22).
        let gone = Process::Pid(u32::MAX);
        assert_eq!(resident_bytes(gone), None);
        assert_eq!(cpu_seconds(gone), None);
    }
}

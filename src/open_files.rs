/// Thousands of sockets need as many file descriptors as the hard limit allows.
pub fn raise_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("could not raise the open-files limit: {e}");
    }
}

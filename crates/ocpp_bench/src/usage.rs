//! What a run cost: the generator's own CPU time, so that a run shows whether the generator
//! was the bottleneck, and, for a watched server process, its CPU time and resident memory
//! (Linux `/proc`). A server's database, when it is another process (PostgreSQL), is not in it.

use std::time::Duration;

use tokio::time::Instant;

/// The cost of the measured part of a run.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    pub wall: Duration,
    pub cpu: Duration,
    pub server_cpu: Option<Duration>,
    /// Before the first charger connected, and when the measured part ended.
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
}

/// Readings taken when the measured part starts, to subtract from those at its end.
#[derive(Debug)]
pub struct Stopwatch {
    pid: Option<u32>,
    rss_before_kib: Option<u64>,
    at: Instant,
    cpu: Duration,
    server_cpu: Option<Duration>,
}

impl Stopwatch {
    pub fn start(pid: Option<u32>, rss_before_kib: Option<u64>) -> Stopwatch {
        Stopwatch { pid, rss_before_kib, at: Instant::now(), cpu: cpu_time(), server_cpu: pid.and_then(process_cpu) }
    }

    pub fn stop(&self) -> Usage {
        Usage {
            wall: self.at.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu),
            server_cpu: self.pid.and_then(process_cpu).zip(self.server_cpu).map(|(now, then)| now.saturating_sub(then)),
            rss_before_kib: self.rss_before_kib,
            rss_after_kib: self.pid.and_then(rss_kib),
        }
    }
}

/// CPU time (user and system) this process has used so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given, which lives for the call.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time (user and system, all threads) another process has used so far.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the fields that follow it start with
    // the state (field 3); utime and stime are fields 14 and 15, in clock ticks.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// A process's resident memory, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_of_this_process_are_read() {
        let me = std::process::id();
        let watch = Stopwatch::start(Some(me), rss_kib(me));
        let spin: u64 = (0..20_000_000u64).map(std::hint::black_box).sum();
        let usage = watch.stop();
        assert!(spin > 0 && usage.cpu > Duration::ZERO, "{usage:?}");
        assert!(usage.server_cpu.is_some_and(|cpu| cpu <= usage.cpu + Duration::from_millis(20)), "{usage:?}");
        assert!(usage.rss_before_kib.is_some_and(|kib| kib > 0) && usage.rss_after_kib.is_some_and(|kib| kib > 0), "{usage:?}");
        assert_eq!((process_cpu(u32::MAX), rss_kib(u32::MAX)), (None, None));
    }
}

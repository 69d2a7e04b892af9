//! What a run cost: the generator's own CPU time, so that a run shows whether the generator
//! was the bottleneck, and, for the watched server processes (one per node), their CPU time and
//! resident memory, and for a watched database (every process of its name, PostgreSQL's
//! backends) its CPU time (Linux `/proc`).

use std::time::Duration;

use tokio::time::Instant;

/// The cost of the measured part of a run.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    pub wall: Duration,
    pub cpu: Duration,
    pub server_cpu: Option<Duration>,
    pub database_cpu: Option<Duration>,
    /// Before the first charger connected, and when the measured part ended.
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
}

/// The processes a run watches besides the generator.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    /// The server's process, one per node.
    pub servers: Vec<u32>,
    /// The database's processes' name (`postgres`): every process of that name is counted.
    pub database: Option<String>,
}

impl Watched {
    fn server_cpu(&self) -> Option<Duration> {
        if self.servers.is_empty() {
            return None;
        }
        self.servers.iter().map(|&pid| process_cpu(pid)).sum()
    }

    fn database_cpu(&self) -> Option<Duration> {
        let name = self.database.as_deref()?;
        let processes = std::fs::read_dir("/proc").ok()?;
        let pids = processes.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok());
        let named = pids.filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == name));
        Some(named.filter_map(process_cpu).sum())
    }

    /// The servers' resident memory together, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        if self.servers.is_empty() {
            return None;
        }
        self.servers.iter().map(|&pid| rss_kib(pid)).sum()
    }
}

/// Readings taken when the measured part starts, to subtract from those at its end.
#[derive(Debug)]
pub struct Stopwatch {
    watched: Watched,
    rss_before_kib: Option<u64>,
    at: Instant,
    cpu: Duration,
    server_cpu: Option<Duration>,
    database_cpu: Option<Duration>,
}

impl Stopwatch {
    pub fn start(watched: &Watched, rss_before_kib: Option<u64>) -> Stopwatch {
        let (server_cpu, database_cpu) = (watched.server_cpu(), watched.database_cpu());
        Stopwatch { watched: watched.clone(), rss_before_kib, at: Instant::now(), cpu: cpu_time(), server_cpu, database_cpu }
    }

    pub fn stop(&self) -> Usage {
        let since = |now: Option<Duration>, then: Option<Duration>| now.zip(then).map(|(now, then)| now.saturating_sub(then));
        Usage {
            wall: self.at.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu),
            server_cpu: since(self.watched.server_cpu(), self.server_cpu),
            database_cpu: since(self.watched.database_cpu(), self.database_cpu),
            rss_before_kib: self.rss_before_kib,
            rss_after_kib: self.watched.rss_kib(),
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
        let comm = std::fs::read_to_string(format!("/proc/{me}/comm")).unwrap();
        let watched = Watched { servers: vec![me], database: Some(comm.trim_end().to_string()) };
        let watch = Stopwatch::start(&watched, watched.rss_kib());
        let spin: u64 = (0..20_000_000u64).map(std::hint::black_box).sum();
        let usage = watch.stop();
        assert!(spin > 0 && usage.cpu > Duration::ZERO, "{usage:?}");
        assert!(usage.server_cpu.is_some_and(|cpu| cpu <= usage.cpu + Duration::from_millis(20)), "{usage:?}");
        assert!(usage.database_cpu.is_some_and(|cpu| cpu >= usage.server_cpu.unwrap()), "this process is among those of its name: {usage:?}");
        assert!(usage.rss_before_kib.is_some_and(|kib| kib > 0) && usage.rss_after_kib.is_some_and(|kib| kib > 0), "{usage:?}");
        assert_eq!((process_cpu(u32::MAX), rss_kib(u32::MAX)), (None, None));
    }
}

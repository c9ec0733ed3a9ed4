//! Health figures of the player's host, read from /proc, /sys and statvfs: what the player
//! publishes periodically next to the renderer's own figures.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::renderer::PipelineState;

/// One health report.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSnapshot {
    /// Whole machine, percent of all cores, since the previous snapshot (None on the first).
    pub cpu_percent: Option<f32>,
    /// This process, percent of one core, since the previous snapshot (None on the first).
    pub process_cpu_percent: Option<f32>,
    pub memory_total_bytes: Option<u64>,
    pub memory_available_bytes: Option<u64>,
    /// Resident memory of this process.
    pub process_rss_bytes: Option<u64>,
    /// Hottest thermal zone, where /sys/class/thermal exposes one.
    pub temperature_celsius: Option<f32>,
    /// Free space for an unprivileged user on the cache directory's file system.
    pub disk_free_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
    pub pipeline_state: PipelineState,
    pub frames_rendered: u64,
    pub frames_dropped: u64,
    /// Pipeline rebuilds by the watchdog since the renderer started.
    pub rebuilds: u64,
    /// Since the renderer started.
    pub uptime: Duration,
}

/// Keeps the previous CPU counters so each snapshot reports the load since the last one.
#[derive(Debug, Default)]
pub(crate) struct CpuSampler {
    previous: Option<(Instant, CpuTimes, Duration)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuSampler {
    /// (machine percent, process percent) since the previous call.
    pub(crate) fn sample(&mut self) -> (Option<f32>, Option<f32>) {
        let now = Instant::now();
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| parse_proc_stat(&s));
        let process = process_cpu_time();
        let mut result = (None, None);
        if let (Some((then, before, process_before)), Some(machine)) = (self.previous, machine) {
            let total = machine.total.saturating_sub(before.total);
            if total > 0 {
                let busy = machine.busy.saturating_sub(before.busy);
                result.0 = Some(busy as f32 * 100.0 / total as f32);
            }
            let wall = now.duration_since(then).as_secs_f32();
            if wall > 0.0 {
                let used = process.saturating_sub(process_before).as_secs_f32();
                result.1 = Some(used * 100.0 / wall);
            }
        }
        if let Some(machine) = machine {
            self.previous = Some((now, machine, process));
        }
        result
    }
}

/// The aggregate `cpu` line of /proc/stat: busy is everything but idle and iowait.
pub(crate) fn parse_proc_stat(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// User plus system CPU time of this process (getrusage).
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A `Key:   123 kB` field of /proc/meminfo or /proc/self/status, in bytes.
pub(crate) fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Resident memory of this process in bytes.
pub fn process_rss_bytes() -> Option<u64> {
    kb_field(&std::fs::read_to_string("/proc/self/status").ok()?, "VmRSS")
}

/// The hottest of /sys/class/thermal/thermal_zone*/temp (millidegrees), if any.
pub(crate) fn temperature_celsius() -> Option<f32> {
    std::fs::read_dir("/sys/class/thermal")
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("temp")).ok())
        .filter_map(|t| t.trim().parse::<i64>().ok())
        .map(|milli| milli as f32 / 1000.0)
        .reduce(f32::max)
}

/// (free for unprivileged users, total) bytes of the file system holding `dir`.
pub(crate) fn disk_space(dir: &Path) -> Option<(u64, u64)> {
    let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `path` is NUL-terminated.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut st) != 0 {
            return None;
        }
        st
    };
    let frag = st.f_frsize as u64;
    Some((st.f_bavail as u64 * frag, st.f_blocks as u64 * frag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 5 50 800 40 1 4 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(
            parse_proc_stat(stat),
            Some(CpuTimes {
                busy: 160,
                total: 1000
            })
        );
        assert_eq!(parse_proc_stat("intr 1 2 3\n"), None);
    }

    #[test]
    fn kilobyte_fields() {
        let status = "Name:\trender\nVmRSS:\t   12345 kB\nMemAvailable: 8 kB\n";
        assert_eq!(kb_field(status, "VmRSS"), Some(12345 * 1024));
        assert_eq!(kb_field(status, "MemAvailable"), Some(8 * 1024));
        assert_eq!(kb_field(status, "VmSwap"), None);
    }

    #[test]
    fn this_machine_reports_memory_and_disk() {
        assert!(process_rss_bytes().is_some_and(|rss| rss > 0));
        let (free, total) = disk_space(Path::new("/")).expect("statvfs of /");
        assert!(total > 0 && free <= total);
        assert_eq!(disk_space(Path::new("/no/such/dir")), None);
    }
}

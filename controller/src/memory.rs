//! How the controller's memory goes back to the system.

/// glibc's `M_MMAP_THRESHOLD`.
#[cfg(target_env = "gnu")]
const M_MMAP_THRESHOLD: std::ffi::c_int = -3;

#[cfg(target_env = "gnu")]
unsafe extern "C" {
    fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
}

/// Blocks of 256 KiB and more are mapped on their own and unmapped when freed. By default
/// glibc raises that threshold each time such a block is freed (up to 32 MiB), after which
/// big short-lived buffers (argon2's 19 MiB per login, request bodies, probes) are carved from
/// per-thread arenas that keep them: resident memory then climbs with every worker thread that
/// ever verified a password. A fixed threshold keeps memory flat under a login flood.
pub fn return_large_blocks() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallopt only sets an allocator parameter; glibc serialises it internally.
        if unsafe { mallopt(M_MMAP_THRESHOLD, 256 * 1024) } != 1 {
            tracing::warn!(
                "cannot set the allocator's mmap threshold; memory may stay high after load"
            );
        }
    }
}

//! (owned by the seal work: issue 9)
//! Protected memory for secrets: key bytes and decrypted plaintext.
//!
//! A [`Secret`] is a fixed-length byte buffer that
//! - is zeroized when dropped (with a volatile write the optimiser cannot remove),
//! - never shows its bytes through `Debug` (and has no `Display`),
//! - lives in memory excluded from core dumps (`MADV_DONTDUMP` on Linux) and locked in RAM
//!   (`mlock`) so it is never swapped out,
//! - sits right-aligned in a slot that is followed by a `PROT_NONE` guard page, so reading or
//!   writing past its end faults at once instead of reaching a neighbour.
//!
//! ## Arenas, not one mapping per secret
//!
//! libsodium's `sodium_malloc` maps three regions per allocation; at the rate the keyring and
//! `vouch serve` create secrets that costs ~30× a plain allocation. Here memory comes from
//! long-lived *arenas*: one `mmap` per arena holds many slots of one size class
//! (4 KiB … 2 MiB), each slot followed by its own guard page:
//!
//! ```text
//! [guard][slot 0][guard][slot 1][guard] … [slot n-1][guard]
//! ```
//!
//! The arena is locked and marked `MADV_DONTDUMP` once, when it is created; allocating a secret
//! is then a free-list pop, and dropping it a zeroize and a push. Arenas are never unmapped.
//! Secrets larger than the biggest class get a mapping of their own with the same layout.
//!
//! ## Degrading
//!
//! When `mlock` fails (usually `RLIMIT_MEMLOCK` too small, e.g. 64 KiB in containers) memory is
//! still guarded, excluded from dumps and zeroized, just not locked. The crate never prints:
//! [`take_warning`] hands the one warning to the caller (the CLI prints it once). On platforms
//! without `mmap` secrets fall back to zeroized heap memory, with the same warning.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroize;

/// Smallest slot: one page. Classes double up to [`MAX_CLASS`].
const MIN_CLASS_SHIFT: u32 = 12;
/// Largest slot handed out from a shared arena (2 MiB: a 1 MiB payload and room to spare).
const MAX_CLASS_SHIFT: u32 = 21;
const MAX_CLASS: usize = 1 << MAX_CLASS_SHIFT;
const CLASSES: usize = (MAX_CLASS_SHIFT - MIN_CLASS_SHIFT + 1) as usize;
/// Address space per arena the slots aim to fill (at least one slot per arena).
const ARENA_TARGET: usize = 256 * 1024;

static DEGRADED: AtomicBool = AtomicBool::new(false);
static WARNING: Mutex<Option<String>> = Mutex::new(None);

/// Errors of the protected allocator (the system refused memory).
#[derive(Debug, thiserror::Error)]
pub enum ProtectedError {
    #[error("cannot allocate protected memory: {0}")]
    Alloc(String),
}

/// The one warning about degraded protection (memory not locked), returned once per process.
/// The caller decides how to show it; the crate never prints.
pub fn take_warning() -> Option<String> {
    WARNING.lock().ok().and_then(|mut w| w.take())
}

/// Whether protection has degraded (memory could not be locked) in this process.
pub fn is_degraded() -> bool {
    DEGRADED.load(Ordering::Relaxed)
}

fn degrade(why: &str) {
    if !DEGRADED.swap(true, Ordering::Relaxed)
        && let Ok(mut w) = WARNING.lock()
    {
        *w = Some(format!(
            "secrets are not locked in RAM ({why}); they are still zeroized, guarded and kept out of core dumps. Raise the limit with `ulimit -l` or LimitMEMLOCK="
        ));
    }
}

/// A secret byte buffer in protected memory. See the module documentation.
pub struct Secret {
    ptr: *mut u8,
    len: usize,
    home: Home,
}

enum Home {
    /// A slot of a shared arena: (class, slot start).
    Slot { class: usize, slot: *mut u8 },
    /// A dedicated mapping (secrets larger than the largest class).
    Own { base: *mut u8, total: usize },
    /// Heap fallback where mmap is not available.
    #[allow(dead_code)]
    Heap(Box<[u8]>),
    /// Zero-length secret: no memory at all.
    Empty,
}

// SAFETY: a Secret exclusively owns its bytes; shared access only hands out `&[u8]`, mutation
// needs `&mut self`. The arena bookkeeping is behind a Mutex.
unsafe impl Send for Secret {}
unsafe impl Sync for Secret {}

impl Secret {
    /// A zero-filled secret of `len` bytes.
    pub fn zeroed(len: usize) -> Result<Secret, ProtectedError> {
        if len == 0 {
            return Ok(Secret {
                ptr: std::ptr::NonNull::dangling().as_ptr(),
                len: 0,
                home: Home::Empty,
            });
        }
        sys::alloc(len)
    }

    /// A secret holding a copy of `bytes`. The caller remains responsible for the source.
    pub fn from_slice(bytes: &[u8]) -> Result<Secret, ProtectedError> {
        let mut s = Secret::zeroed(bytes.len())?;
        s.expose_mut().copy_from_slice(bytes);
        Ok(s)
    }

    /// `len` random bytes from the system CSPRNG, generated in place.
    pub fn random(len: usize) -> Result<Secret, ProtectedError> {
        let mut s = Secret::zeroed(len)?;
        aws_lc_rs::rand::fill(s.expose_mut())
            .map_err(|_| ProtectedError::Alloc("the system random generator failed".into()))?;
        Ok(s)
    }

    /// The secret bytes. Keep the borrow short and never copy them into ordinary memory.
    pub fn expose(&self) -> &[u8] {
        // SAFETY: ptr points to len initialised bytes owned by self (dangling only if len == 0).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The secret bytes, writable.
    pub fn expose_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the first `len` bytes into a new, shorter secret (used to trim a decrypt buffer
    /// to the plaintext length without the plaintext touching ordinary memory).
    pub fn truncated(&self, len: usize) -> Result<Secret, ProtectedError> {
        Secret::from_slice(&self.expose()[..len.min(self.len)])
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.expose(), other).is_ok()
    }

    #[cfg(test)]
    fn raw_ptr(&self) -> *const u8 {
        self.ptr
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.expose_mut().zeroize();
        match std::mem::replace(&mut self.home, Home::Empty) {
            Home::Slot { class, slot } => sys::free_slot(class, slot),
            Home::Own { base, total } => sys::unmap(base, total),
            Home::Heap(mut b) => b.zeroize(),
            Home::Empty => {}
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([REDACTED; {} bytes])", self.len)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.ct_eq(other.expose())
    }
}
impl Eq for Secret {}

fn class_of(len: usize) -> Option<usize> {
    if len > MAX_CLASS {
        return None;
    }
    let size = len.max(1).next_power_of_two().max(1 << MIN_CLASS_SHIFT);
    Some((size.trailing_zeros() - MIN_CLASS_SHIFT) as usize)
}

fn class_size(class: usize) -> usize {
    1usize << (class as u32 + MIN_CLASS_SHIFT)
}

#[cfg(unix)]
mod sys {
    use super::*;

    /// Free slots per size class (addresses stored as usize so the pool is Send).
    static POOL: Mutex<[Vec<usize>; CLASSES]> = Mutex::new([const { Vec::new() }; CLASSES]);

    /// Free slots a thread keeps for itself, up to [`LOCAL_SLOTS`] per class, so that the
    /// common allocate-use-drop cycle of a small secret takes no lock: the global pool's mutex
    /// was most of what a 32-byte secret cost over a heap `Vec`. Handed back to [`POOL`] when
    /// the thread ends.
    struct LocalSlots([Vec<usize>; CLASSES]);

    const LOCAL_SLOTS: usize = 8;

    impl Drop for LocalSlots {
        fn drop(&mut self) {
            if let Ok(mut pool) = POOL.lock() {
                for (class, slots) in self.0.iter_mut().enumerate() {
                    pool[class].append(slots);
                }
            }
        }
    }

    thread_local! {
        static LOCAL: std::cell::RefCell<LocalSlots> =
            const { std::cell::RefCell::new(LocalSlots([const { Vec::new() }; CLASSES])) };
    }

    fn local_pop(class: usize) -> Option<usize> {
        LOCAL
            .try_with(|l| l.try_borrow_mut().ok()?.0[class].pop())
            .ok()
            .flatten()
    }

    /// Keeps the slot in this thread's cache; `false` when the cache is full or gone.
    fn local_push(class: usize, slot: usize) -> bool {
        LOCAL
            .try_with(|l| {
                let Ok(mut l) = l.try_borrow_mut() else {
                    return false;
                };
                let v = &mut l.0[class];
                if v.len() >= LOCAL_SLOTS {
                    return false;
                }
                v.push(slot);
                true
            })
            .unwrap_or(false)
    }

    /// The page size, asked of the system once: it sits on every allocation's path.
    fn page() -> usize {
        static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *PAGE.get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if p > 0 { p as usize } else { 4096 }
        })
    }

    fn os_err(what: &str) -> ProtectedError {
        ProtectedError::Alloc(format!("{what}: {}", std::io::Error::last_os_error()))
    }

    /// Maps `slots` slots of `slot` bytes, each followed by a guard page, plus a leading guard.
    /// Returns the base of the mapping.
    fn map_region(slot: usize, slots: usize) -> Result<(*mut u8, usize), ProtectedError> {
        let pg = page();
        let slot = slot.div_ceil(pg) * pg;
        let total = pg + slots * (slot + pg);
        // SAFETY: anonymous private mapping; no file, no fixed address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(os_err("mmap"));
        }
        let base = base as *mut u8;
        for i in 0..slots {
            // SAFETY: inside the mapping just created.
            let start = unsafe { base.add(pg + i * (slot + pg)) };
            // SAFETY: start..start+slot lies within the mapping and is page aligned.
            let rc =
                unsafe { libc::mprotect(start.cast(), slot, libc::PROT_READ | libc::PROT_WRITE) };
            if rc != 0 {
                let e = os_err("mprotect");
                unmap(base, total);
                return Err(e);
            }
            // SAFETY: as above.
            if forced_mlock_failure() || unsafe { libc::mlock(start.cast(), slot) } != 0 {
                let err = std::io::Error::last_os_error();
                degrade(&format!("mlock: {err}; RLIMIT_MEMLOCK is too small"));
            }
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: the whole mapping is ours; DONTDUMP only changes core dump behaviour.
            unsafe { libc::madvise(base.cast(), total, libc::MADV_DONTDUMP) };
        }
        Ok((base, total))
    }

    /// Tests simulate a too-small RLIMIT_MEMLOCK (root ignores the limit) in a child process.
    #[cfg(test)]
    fn forced_mlock_failure() -> bool {
        std::env::var_os("VOUCH_TEST_MLOCK_FAILS").is_some()
    }
    #[cfg(not(test))]
    fn forced_mlock_failure() -> bool {
        false
    }

    pub(super) fn alloc(len: usize) -> Result<Secret, ProtectedError> {
        let pg = page();
        match class_of(len) {
            Some(class) => {
                let size = class_size(class).max(pg);
                let slot = if let Some(slot) = local_pop(class) {
                    slot as *mut u8
                } else {
                    let mut pool = POOL
                        .lock()
                        .map_err(|_| ProtectedError::Alloc("allocator poisoned".into()))?;
                    if pool[class].is_empty() {
                        let slots = (ARENA_TARGET / size).max(1);
                        let (base, _) = map_region(size, slots)?;
                        for i in (0..slots).rev() {
                            pool[class].push(base as usize + pg + i * (size + pg));
                        }
                    }
                    pool[class].pop().unwrap_or_default() as *mut u8
                };
                if slot.is_null() {
                    return Err(ProtectedError::Alloc("empty arena".into()));
                }
                // Right-align so that one byte past the end is in the guard page.
                // SAFETY: len <= size, so the pointer stays inside the slot.
                let ptr = unsafe { slot.add(size - len) };
                Ok(Secret {
                    ptr,
                    len,
                    home: Home::Slot { class, slot },
                })
            }
            None => {
                let size = len.div_ceil(pg) * pg;
                let (base, total) = map_region(size, 1)?;
                // SAFETY: the slot starts one page into the mapping and is `size` long.
                let ptr = unsafe { base.add(pg + size - len) };
                Ok(Secret {
                    ptr,
                    len,
                    home: Home::Own { base, total },
                })
            }
        }
    }

    pub(super) fn free_slot(class: usize, slot: *mut u8) {
        if local_push(class, slot as usize) {
            return;
        }
        if let Ok(mut pool) = POOL.lock() {
            pool[class].push(slot as usize);
        }
    }

    pub(super) fn unmap(base: *mut u8, total: usize) {
        // SAFETY: base/total came from our own mmap; munlock of unlocked pages is harmless.
        unsafe {
            libc::munlock(base.cast(), total);
            libc::munmap(base.cast(), total);
        }
    }
}

#[cfg(not(unix))]
mod sys {
    use super::*;

    pub(super) fn alloc(len: usize) -> Result<Secret, ProtectedError> {
        degrade("this platform has no mmap/mlock");
        let mut b = vec![0u8; len].into_boxed_slice();
        let ptr = b.as_mut_ptr();
        Ok(Secret {
            ptr,
            len,
            home: Home::Heap(b),
        })
    }
    pub(super) fn free_slot(_class: usize, _slot: *mut u8) {}
    pub(super) fn unmap(_base: *mut u8, _total: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cross_threads_and_come_back_zeroed() {
        // Secrets made on one thread and dropped on another, threads that end holding cached
        // slots: every secret handed out is zero-filled and distinct from live ones.
        let handles: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..64u8 {
                        let mut s = Secret::zeroed(32).unwrap();
                        assert!(s.expose().iter().all(|b| *b == 0));
                        s.expose_mut().fill(i ^ t);
                        if i % 3 == 0 {
                            kept.push(s);
                        }
                    }
                    kept
                })
            })
            .collect();
        let kept: Vec<Secret> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut ptrs: Vec<usize> = kept.iter().map(|s| s.raw_ptr() as usize).collect();
        ptrs.sort_unstable();
        ptrs.dedup();
        assert_eq!(ptrs.len(), kept.len(), "a live slot was handed out twice");
        drop(kept);
        for _ in 0..100 {
            assert!(Secret::zeroed(32).unwrap().expose().iter().all(|b| *b == 0));
        }
    }

    #[test]
    fn debug_never_shows_bytes() {
        let s = Secret::from_slice(b"hunter2-hunter2").unwrap();
        let d = format!("{s:?}");
        assert_eq!(d, "Secret([REDACTED; 15 bytes])");
        assert!(!d.contains("hunter2"));
    }

    #[test]
    fn round_trip_and_sizes() {
        for len in [
            0,
            1,
            31,
            32,
            4095,
            4096,
            4097,
            65536,
            1 << 20,
            (1 << 21) + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let s = Secret::from_slice(&data).unwrap();
            assert_eq!(s.len(), len);
            assert_eq!(s.expose(), &data[..]);
            assert!(s.ct_eq(&data));
        }
    }

    #[test]
    fn slots_are_reused_and_zeroized() {
        // Same size class: dropping and reallocating returns zeroed memory.
        let a = Secret::from_slice(&[0xAA; 100]).unwrap();
        let p = a.raw_ptr();
        drop(a);
        let b = Secret::zeroed(100).unwrap();
        // Whatever slot we got (another thread may have taken ours), it must be zeroed.
        assert!(b.expose().iter().all(|x| *x == 0));
        let _ = p;
    }

    #[test]
    fn zeroize_on_drop_clears_the_slot() {
        // A size class no other test in this binary uses (1 MiB < len <= 2 MiB), so no
        // concurrent test can take the slot between the drop and the read.
        let len = (1 << 20) + 4096;
        let a = Secret::from_slice(&vec![0x5A; len]).unwrap();
        let p = a.raw_ptr();
        drop(a);
        // Arena slots are never unmapped, so reading the slot after the drop is defined at
        // the OS level; every byte must be zero.
        // SAFETY: arena memory stays mapped and readable for the life of the process.
        let after = unsafe { std::slice::from_raw_parts(p, len) };
        assert!(after.iter().all(|x| *x == 0), "secret bytes survived drop");
    }

    #[test]
    fn degrading_warns_exactly_once() {
        // Whatever earlier tests did, after two degradations at most one warning is pending,
        // and taking it leaves none.
        degrade("test one");
        degrade("test two");
        let _ = take_warning();
        assert!(is_degraded());
        degrade("test three");
        assert_eq!(take_warning(), None, "a second warning was queued");
    }

    /// The kernel's view of the mapping holding a secret: excluded from core dumps (`dd`)
    /// and locked (`lo`, unless protection degraded), and the pages around it inaccessible.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_sees_dontdump_lock_and_guards() {
        let s = Secret::from_slice(&[1u8; 40]).unwrap();
        let addr = s.raw_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut in_range = false;
        let mut flags = None;
        let mut perms = String::new();
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((a, b)) = first.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                in_range = (a..b).contains(&addr);
                if in_range {
                    perms = line.split_whitespace().nth(1).unwrap_or("").to_string();
                }
                continue;
            }
            if in_range && let Some(f) = line.strip_prefix("VmFlags:") {
                flags = Some(f.split_whitespace().map(str::to_string).collect::<Vec<_>>());
            }
        }
        let flags = flags.expect("secret's mapping not found in /proc/self/smaps");
        assert!(perms.starts_with("rw"), "{perms}");
        assert!(
            flags.iter().any(|f| f == "dd"),
            "not MADV_DONTDUMP: {flags:?}"
        );
        if !is_degraded() {
            assert!(flags.iter().any(|f| f == "lo"), "not mlocked: {flags:?}");
        }
        // The page after the slot is a separate, inaccessible mapping (the guard).
        // SAFETY: sysconf has no preconditions.
        let pg = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let guard = (addr / pg + 1) * pg;
        let guard_line = smaps
            .lines()
            .find(|l| {
                l.split_whitespace()
                    .next()
                    .and_then(|r| r.split_once('-'))
                    .and_then(|(a, b)| {
                        Some((
                            usize::from_str_radix(a, 16).ok()?,
                            usize::from_str_radix(b, 16).ok()?,
                        ))
                    })
                    .is_some_and(|(a, b)| (a..b).contains(&guard))
            })
            .expect("guard page not mapped");
        assert!(
            guard_line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .starts_with("---"),
            "{guard_line}"
        );
    }

    /// When memory cannot be locked, secrets still work and exactly one warning is produced.
    #[cfg(unix)]
    #[test]
    fn mlock_failure_degrades_with_one_warning() {
        const MARK: &str = "VOUCH_TEST_MLOCK_FAILS";
        if std::env::var_os(MARK).is_some() {
            assert!(!is_degraded());
            let a: Vec<_> = [10usize, 5000, 70_000, 3 << 20]
                .iter()
                .map(|n| Secret::from_slice(&vec![9u8; *n]).unwrap())
                .collect();
            assert!(a.iter().all(|s| s.expose().iter().all(|b| *b == 9)));
            assert!(is_degraded());
            let w = take_warning().expect("one warning");
            assert!(
                w.contains("not locked in RAM") && w.contains("RLIMIT_MEMLOCK"),
                "{w}"
            );
            assert_eq!(take_warning(), None);
            let _more = Secret::from_slice(&[1u8; 20_000]).unwrap();
            assert_eq!(take_warning(), None, "warned twice");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "protected::tests::mlock_failure_degrades_with_one_warning",
            ])
            .args(["--test-threads", "1"])
            .env(MARK, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child failed or ran nothing: {stdout}"
        );
    }

    #[test]
    fn random_is_not_zero() {
        let s = Secret::random(32).unwrap();
        assert!(s.expose().iter().any(|x| *x != 0));
    }

    #[test]
    fn concurrent_allocations() {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let s = Secret::from_slice(&[t as u8; 48]).unwrap();
                        assert!(s.expose().iter().all(|x| *x == t as u8), "{i}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    /// Touching one byte past a secret must kill the process with SIGSEGV. Runs itself in a
    /// child process (the same test binary, filtered to this test, with a marker variable).
    #[cfg(unix)]
    #[test]
    fn guard_page_faults_past_the_end() {
        use std::os::unix::process::ExitStatusExt;
        const MARK: &str = "VOUCH_GUARD_PAGE_CHILD";
        for which in ["small", "large"] {
            if std::env::var(MARK).as_deref() == Ok(which) {
                let len = if which == "small" {
                    32
                } else {
                    (1 << 21) + 100
                };
                let s = Secret::zeroed(len).unwrap();
                // SAFETY: deliberately not: this reads one byte past the buffer, which must
                // land in the guard page and fault.
                let v = unsafe { std::ptr::read_volatile(s.raw_ptr().add(len)) };
                std::process::exit(i32::from(v) + 100); // reached only if there is no guard
            }
        }
        if std::env::var(MARK).is_ok() {
            return;
        }
        let exe = std::env::current_exe().unwrap();
        for which in ["small", "large"] {
            let status = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "protected::tests::guard_page_faults_past_the_end",
                ])
                .args(["--test-threads", "1", "--nocapture"])
                .env(MARK, which)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert_eq!(
                status.signal(),
                Some(libc::SIGSEGV),
                "{which}: child was not killed by SIGSEGV: {status:?}"
            );
        }
    }
}

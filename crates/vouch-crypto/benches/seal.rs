//! Seal throughput next to raw aws-lc-rs AES-256-GCM, and the cost of protected memory.
//! Run through `bench/seal.sh` (release build, one run, ratios printed at the end).

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vouch_crypto::protected::Secret;
use vouch_crypto::seal::audit::NullSink;
use vouch_crypto::seal::{Keyring, Sealer};
use zeroize::Zeroize;

const SIZES: [(usize, &str); 3] = [(1 << 10, "1KiB"), (64 << 10, "64KiB"), (1 << 20, "1MiB")];
const AAD: &[u8] = b"tenant=bench";

fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap())
}

fn nonce() -> Nonce {
    let mut n = [0u8; 12];
    aws_lc_rs::rand::fill(&mut n).unwrap();
    Nonce::assume_unique_for_key(n)
}

fn sealer() -> Sealer {
    Sealer::new(
        Keyring::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
        Arc::new(NullSink),
    )
}

fn throughput(c: &mut Criterion) {
    let key = raw_key();
    let s = sealer();
    for (op, is_encrypt) in [("encrypt", true), ("decrypt", false)] {
        let mut g = c.benchmark_group(op);
        for (size, label) in SIZES {
            let pt = vec![0x5au8; size];
            g.throughput(Throughput::Bytes(size as u64));
            if is_encrypt {
                // Raw: random nonce, copy into an output buffer, seal in place, append tag.
                g.bench_function(BenchmarkId::new("raw-aws-lc-rs", label), |b| {
                    b.iter(|| {
                        let mut buf = pt.clone();
                        key.seal_in_place_append_tag(nonce(), Aad::from(AAD), &mut buf)
                            .unwrap();
                        black_box(buf)
                    })
                });
                g.bench_function(BenchmarkId::new("vouch-seal", label), |b| {
                    b.iter(|| black_box(s.encrypt("bench", &pt, AAD).unwrap()))
                });
            } else {
                let n = [1u8; 12];
                let mut sealed = pt.clone();
                key.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(AAD),
                    &mut sealed,
                )
                .unwrap();
                let env = s.encrypt("bench", &pt, AAD).unwrap();
                // Raw: copy the ciphertext into a buffer, open in place.
                g.bench_function(BenchmarkId::new("raw-aws-lc-rs", label), |b| {
                    b.iter(|| {
                        let mut buf = sealed.clone();
                        let len = key
                            .open_in_place(
                                Nonce::assume_unique_for_key(n),
                                Aad::from(AAD),
                                &mut buf,
                            )
                            .unwrap()
                            .len();
                        buf.truncate(len);
                        black_box(buf)
                    })
                });
                // Seal: parse, key lookup, guards, audit event, plaintext into a Secret.
                g.bench_function(BenchmarkId::new("vouch-seal", label), |b| {
                    b.iter(|| black_box(s.decrypt("bench", &env, AAD).unwrap()))
                });
            }
        }
        g.finish();
    }
}

/// The same AES-GCM decrypt with the plaintext landing in an ordinary (zeroized) Vec or in a
/// protected Secret: the overhead of protected memory on a secret operation.
fn protected_memory(c: &mut Criterion) {
    let key = raw_key();
    let mut g = c.benchmark_group("protected-decrypt");
    for (size, label) in [(32usize, "32B"), (1 << 10, "1KiB"), (64 << 10, "64KiB")] {
        let n = [1u8; 12];
        let mut sealed = vec![0x33u8; size];
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(n), Aad::from(AAD), &mut sealed)
            .unwrap();
        let (ct, tag) = sealed.split_at(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("vec-zeroized", label), |b| {
            b.iter(|| {
                let mut out = vec![0u8; size];
                key.open_separate_gather(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(AAD),
                    ct,
                    tag,
                    &mut out,
                )
                .unwrap();
                black_box(&out);
                out.zeroize();
            })
        });
        g.bench_function(BenchmarkId::new("secret", label), |b| {
            b.iter(|| {
                let mut out = Secret::zeroed(size).unwrap();
                key.open_separate_gather(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(AAD),
                    ct,
                    tag,
                    out.expose_mut(),
                )
                .unwrap();
                black_box(&out);
            })
        });
    }
    g.finish();
    // Allocation alone: a 32-byte key in an arena slot vs a heap Vec.
    let mut g = c.benchmark_group("protected-alloc");
    g.bench_function("vec-zeroized-32B", |b| {
        b.iter(|| {
            let mut v = vec![0u8; 32];
            black_box(&mut v);
            v.zeroize();
        })
    });
    g.bench_function("secret-32B", |b| {
        b.iter(|| black_box(Secret::zeroed(32).unwrap()))
    });
    // What the arena avoids: one mapping per secret, with guard pages, locked and excluded
    // from core dumps, then wiped and unmapped.
    g.bench_function("mapping-per-secret-32B", |b| b.iter(mapping_per_secret));
    g.finish();
    // The per-operation cost seal pays for not caching expanded keys outside protected memory.
    let mut g = c.benchmark_group("key-setup");
    let k = Secret::from_slice(&[7u8; 32]).unwrap();
    g.bench_function("aes-256-gcm", |b| {
        b.iter(|| {
            black_box(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, k.expose()).unwrap(),
            ))
        })
    });
    g.finish();
}

/// One secret in its own mapping: guard page, data page, guard page.
fn mapping_per_secret() {
    // SAFETY: a fresh anonymous mapping of three pages, only the middle one touched, unmapped
    // before returning; the calls' results are checked so a failure ends the benchmark.
    unsafe {
        let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        let base = libc::mmap(
            std::ptr::null_mut(),
            3 * page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert!(base != libc::MAP_FAILED);
        let data = (base as *mut u8).add(page);
        assert_eq!(libc::mprotect(base, page, libc::PROT_NONE), 0);
        assert_eq!(
            libc::mprotect(data.add(page).cast(), page, libc::PROT_NONE),
            0
        );
        libc::madvise(data.cast(), page, libc::MADV_DONTDUMP);
        libc::mlock(data.cast(), page);
        std::ptr::write_bytes(data, 7, 32);
        black_box(data);
        std::ptr::write_bytes(data, 0, 32);
        libc::munlock(data.cast(), page);
        assert_eq!(libc::munmap(base, 3 * page), 0);
    }
}

criterion_group!(benches, throughput, protected_memory);
criterion_main!(benches);

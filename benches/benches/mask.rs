//! Masking throughput against a plain copy of the same buffer, measured in
//! the same run so the ratio holds on a noisy machine.
//!
//! `cargo bench -p wscore-benches --bench mask`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wscore::frame::apply_mask;

const LEN: usize = 64 * 1024 * 1024;

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask_64MiB");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(20);

    let src = vec![0xA5u8; LEN];
    let mut dst = vec![0u8; LEN];
    // The baseline: the cheapest possible pass that reads and writes every
    // byte. Masking in place touches the same memory once, so it should
    // match or beat this.
    group.bench_function("copy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });

    let mut buf = vec![0x5Au8; LEN];
    group.bench_function("apply_mask_in_place", |b| {
        b.iter(|| {
            apply_mask(black_box(&mut buf), black_box([1, 2, 3, 4]), black_box(1));
        })
    });

    let mut out = Vec::with_capacity(LEN);
    group.bench_function("append_masked", |b| {
        b.iter(|| {
            out.clear();
            wscore::frame::append_masked(&mut out, black_box(&src), black_box([1, 2, 3, 4]), 0);
            black_box(&mut out);
        })
    });
    group.finish();
}

criterion_group!(benches, mask);
criterion_main!(benches);

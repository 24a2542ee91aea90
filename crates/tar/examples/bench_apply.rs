//! Rough throughput check of `apply_layer` and `pack_dir`:
//! `cargo run --release -p berth-tar --example bench_apply -- [MiB] [files]`
//! Builds an in-memory layer of MiB megabytes spread over `files` files, applies it to a
//! temp dir, packs it back, and prints MB/s for each.

use std::time::Instant;

use berth_tar::{apply_layer, pack_dir, ApplyOptions, PackMode};

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let files: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let per = (mib << 20) / files.max(1);
    let chunk: Vec<u8> = (0..per).map(|i| (i % 251) as u8).collect();
    let mut b = tar::Builder::new(Vec::with_capacity((mib << 20) + files * 1024));
    for i in 0..files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(per as u64);
        h.set_mtime(1_500_000_000);
        b.append_data(&mut h, format!("d{}/f{i}", i / 100), &chunk[..])
            .expect("build");
    }
    let data = b.into_inner().expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let stats = apply_layer(&data[..], dir.path(), &ApplyOptions::default()).expect("apply");
    let s = t.elapsed().as_secs_f64();
    println!(
        "apply: {} entries, {} MB in {s:.2}s = {:.0} MB/s",
        stats.entries,
        stats.bytes / 1_000_000,
        stats.bytes as f64 / 1e6 / s
    );
    let t = Instant::now();
    let stats = pack_dir(dir.path(), std::io::sink(), PackMode::Plain).expect("pack");
    let s = t.elapsed().as_secs_f64();
    println!(
        "pack: {} entries, {} MB in {s:.2}s = {:.0} MB/s",
        stats.entries,
        stats.bytes / 1_000_000,
        stats.bytes as f64 / 1e6 / s
    );
}

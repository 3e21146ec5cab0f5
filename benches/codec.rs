//! Decode throughput of the embedded-instance codec, beside two reference points measured in
//! the same run: quick-xml's raw event iteration over the same bytes (the floor any decoder
//! built on quick-xml pays) and pywbem's own parser (what a user would otherwise use).
//!
//! Inputs are pywbem's serializations in `tests/data/pywbem/`: `rasd_client_1k.xml`, an
//! allocation setting data of about 1 KB as a client writes it, and `rasd_large.xml`, a
//! 50 KB allocation (480 host resources, long strings), plus the MOF of each.
//!
//! Criterion measures, per input: `raw_events` (quick-xml's reader, the decoder's own
//! configuration, every event read and dropped), `decode` ([`poolcheck::codec::decode`], the
//! owned instance) and `typed` ([`AllocationSettingData::decode`]: the borrowed decode straight
//! into the view, what a service does with one).
//!
//! After criterion, a summary pass measures the same three closures again (taking turns batch
//! by batch, so that all three see the same load; fastest of 11 batches of about 40 ms), runs
//! `scripts/pywbem_timing.py` on the same files (time measured inside Python the same way,
//! interpreter start-up excluded), measures the peak bytes one decode allocates with a
//! counting allocator (enabled only for that pass), and prints one table with the ratios
//! BENCHMARKS.md records. Without pywbem, the pywbem column says why.
//!
//! Run: `cargo bench --bench codec` (add `-- --quick` for a shorter criterion pass). The
//! summary is left out when criterion is given a filter, `--profile-time`, `--list` or
//! `--test`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use poolcheck::codec::{decode, AllocationSettingData};
use quick_xml::events::Event;

// ------------------------------------------------------------------------------------------
// A counting allocator, switched on only while memory is measured

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let now = CURRENT.fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes `f` had allocated at once (its result included). The bench is
/// single-threaded while this runs.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> usize {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    drop(out);
    PEAK.load(Ordering::Relaxed).max(0) as usize
}

// ------------------------------------------------------------------------------------------
// The three measured operations

/// Every event of `text` through quick-xml's reader, configured as the decoder configures
/// it, and dropped: no unescaping, no attribute parsing, no allocation.
fn raw_events(text: &str) -> usize {
    let mut reader = poolcheck::codec::event_reader(text);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return events,
            Ok(_) => events += 1,
            Err(e) => panic!("bench input is not XML: {e}"),
        }
    }
}

/// What a service does with one: decode straight into the allocation view
/// (`decode_borrowed`, then the view copies each value once).
fn typed(text: &str) -> AllocationSettingData {
    AllocationSettingData::decode(text).expect("bench input is an allocation")
}

struct Input {
    label: &'static str,
    file: &'static str,
    text: String,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pywbem")
}

fn inputs() -> Vec<Input> {
    [
        ("1 KB allocation (CIM-XML)", "rasd_client_1k.xml"),
        ("50 KB allocation (CIM-XML)", "rasd_large.xml"),
        ("1 KB allocation (MOF)", "rasd_client_1k.mof"),
        ("50 KB allocation (MOF)", "rasd_large.mof"),
    ]
    .into_iter()
    .map(|(label, file)| Input {
        label,
        file,
        text: std::fs::read_to_string(data_dir().join(file)).expect("bench input reads"),
    })
    .collect()
}

fn criterion_benches(c: &mut Criterion, inputs: &[Input]) {
    for input in inputs {
        let mut group = c.benchmark_group(input.file);
        group.throughput(Throughput::Bytes(input.text.len() as u64));
        let text = input.text.as_str();
        if input.file.ends_with(".xml") {
            group.bench_function("raw_events", |b| b.iter(|| raw_events(black_box(text))));
        }
        group.bench_function("decode", |b| b.iter(|| decode(black_box(text))));
        group.bench_function("typed", |b| b.iter(|| typed(black_box(text))));
        group.finish();
    }
}

// ------------------------------------------------------------------------------------------
// The summary pass

/// Time of one call of each of `fs`: batches of about 40 ms, the closures taking turns batch by
/// batch so that all see the same load, 11 rounds; the fastest batch of each (on a shared
/// machine the fastest batch is the one least disturbed by other processes).
fn best_times(fs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let sizes: Vec<u32> = fs
        .iter_mut()
        .map(|f| {
            let mut per_batch = 1u32;
            loop {
                let start = Instant::now();
                for _ in 0..per_batch {
                    f();
                }
                if start.elapsed() >= Duration::from_millis(40) {
                    return per_batch;
                }
                per_batch *= 2;
            }
        })
        .collect();
    let mut best = vec![Duration::MAX; fs.len()];
    for _ in 0..11 {
        for ((f, per_batch), best) in fs.iter_mut().zip(&sizes).zip(best.iter_mut()) {
            let start = Instant::now();
            for _ in 0..*per_batch {
                f();
            }
            *best = (*best).min(start.elapsed() / *per_batch);
        }
    }
    best
}

/// pywbem's time per decode for each file, or why there is none.
fn pywbem_times(files: &[&str]) -> Result<Vec<(String, f64, String)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pywbem_timing.py");
    let mut command = Command::new("python3");
    command.arg(script).arg("--seconds").arg("2");
    for file in files {
        command.arg(data_dir().join(file));
    }
    let out = command
        .output()
        .map_err(|e| format!("python3 could not be started: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("bad timing line: {e}"))?;
            Ok((
                v["file"].as_str().unwrap_or_default().to_string(),
                v["ns_per_decode"].as_f64().unwrap_or(f64::NAN),
                format!(
                    "pywbem {} on Python {}",
                    v["pywbem_version"].as_str().unwrap_or("?"),
                    v["python"].as_str().unwrap_or("?")
                ),
            ))
        })
        .collect()
}

fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn summary(inputs: &[Input]) {
    let xml_files: Vec<&str> = inputs
        .iter()
        .map(|i| i.file)
        .filter(|f| f.ends_with(".xml"))
        .collect();
    let pywbem = pywbem_times(&xml_files);
    println!();
    println!("== summary (same run; time per decode, fastest of 11 interleaved batches)");
    match &pywbem {
        Ok(times) => println!(
            "   pywbem: {}",
            times.first().map(|t| t.2.as_str()).unwrap_or("?")
        ),
        Err(why) => println!("   pywbem: not measured ({why})"),
    }
    println!(
        "{:<28} {:>7} {:>11} {:>11} {:>11} {:>9} {:>13} {:>9} {:>12} {:>10}",
        "input",
        "bytes",
        "raw events",
        "decode",
        "typed",
        "MB/s",
        "typed/raw",
        "pywbem",
        "x pywbem",
        "peak mem"
    );
    for input in inputs {
        let text = input.text.as_str();
        let mut raw_f = || {
            black_box(raw_events(black_box(text)));
        };
        let mut plain_f = || {
            black_box(decode(black_box(text)).ok());
        };
        let mut full_f = || {
            black_box(typed(black_box(text)));
        };
        let (raw, plain, full) = if input.file.ends_with(".xml") {
            let t = best_times(&mut [&mut raw_f, &mut plain_f, &mut full_f]);
            (Some(t[0]), t[1], t[2])
        } else {
            let t = best_times(&mut [&mut plain_f, &mut full_f]);
            (None, t[0], t[1])
        };
        let peak = peak_bytes(|| typed(text));
        let py = pywbem
            .as_ref()
            .ok()
            .and_then(|t| t.iter().find(|(f, _, _)| f == input.file))
            .map(|(_, ns, _)| *ns);
        let mb_s = text.len() as f64 / full.as_secs_f64() / 1e6;
        println!(
            "{:<28} {:>7} {:>11} {:>11} {:>11} {:>9.0} {:>13} {:>9} {:>12} {:>10}",
            input.label,
            text.len(),
            raw.map_or("-".into(), |r| format!("{:.2} us", nanos(r) / 1e3)),
            format!("{:.2} us", nanos(plain) / 1e3),
            format!("{:.2} us", nanos(full) / 1e3),
            mb_s,
            raw.map_or("-".into(), |r| format!(
                "{:.2}x time",
                nanos(full) / nanos(r)
            )),
            py.map_or("-".into(), |ns| format!("{:.0} us", ns / 1e3)),
            py.map_or("-".into(), |ns| format!("{:.0}x faster", ns / nanos(full))),
            format!("{:.2}x in", peak as f64 / text.len() as f64),
        );
    }
    println!(
        "   typed/raw: time of the typed decode over quick-xml's raw event iteration \
         (<= 2.00x means at least half as fast); x pywbem: pywbem's time over the typed \
         decode's; peak mem: most bytes allocated at once by one typed decode, over the input size"
    );
}

fn main() {
    let inputs = inputs();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_benches(&mut criterion, &inputs);
    criterion.final_summary();
    // Not when criterion is only profiling, listing or testing, or is filtered to some
    // benchmarks: the summary measures everything.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let partial = args.iter().any(|a| {
        matches!(a.as_str(), "--profile-time" | "--list" | "--test") || !a.starts_with('-')
    });
    if !partial {
        summary(&inputs);
    }
}

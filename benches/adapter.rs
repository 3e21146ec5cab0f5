//! The process boundary, in operations (PoolService calls) per second, all in the same run:
//!
//! - `bare_round_trips`: the physical limit — the very request lines a full suite sends, written
//!   to a trivial Python peer (examples/python/echo_peer.py --bare) that parses each and answers
//!   at once, one round trip at a time, with no harness and no adapter machinery;
//! - `calls_via_process_adapter`: the same calls made through the process adapter (threads,
//!   timeouts, serde on both ways) to the same peer in adapter mode, without the harness;
//! - `calls_via_process_adapter_threads`: the same, with the pipes served by a reader and a
//!   writer thread (`AdapterOptions::threads`, the portable path) instead of `poll(2)`;
//! - `suite_via_trivial_adapter`: `harness::check` through the process adapter against the same
//!   peer in adapter mode (every method `unsupported`, so the peer does no work of its own);
//! - `suite_in_process_trivial`: the same suite against an in-process stand-in for the trivial
//!   peer: the harness's own share of `suite_via_trivial_adapter`;
//! - `suite_in_process_reference`: the same suite against the reference implementation, in
//!   process, with no boundary at all;
//! - `suite_via_python_example`: the same suite through the process adapter against the
//!   example adapter (examples/python/pool_adapter.py), a real implementation in Python.
//!
//! The target: the suite through the trivial adapter reaches at least half the bare round-trip
//! rate, i.e. the harness is not the bottleneck at the boundary. Because separate measurements
//! drift apart on a busy machine, the bench ends with `adapter/interleaved_ratio`: bare round
//! trips, adapter calls and the suite alternated round by round, the median ratios printed.
//! BENCHMARKS.md records the figures.

use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use poolcheck::adapters::process::{AdapterOptions, ProcessAdapter};
use poolcheck::adapters::protocol::{encode_request, Request};
use poolcheck::harness::{self, Config};
use poolcheck::mutants;
use poolcheck::spec::Profile;
use poolcheck::sut::{
    CallReply, Dialect, HostFixture, JobView, MethodCall, ObjectPath, PoolService,
    ServiceDescription, ServiceError, Snapshot, SnapshotDelta,
};

/// What the `poolcheck` binary runs with (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CASES: u32 = 40;
const SEED: u64 = 7;

fn script(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

fn config() -> Config {
    Config {
        cases: CASES,
        seed: SEED,
        ..Config::default()
    }
}

/// Counts (and keeps) the calls a run makes.
struct Counting<'a> {
    inner: &'a mut dyn PoolService,
    requests: Vec<Request>,
}

impl PoolService for Counting<'_> {
    fn describe(&self) -> ServiceDescription {
        self.inner.describe()
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.requests.push(Request::Reset {
            fixture: fixture.clone(),
        });
        self.inner.reset(fixture)
    }
    fn invoke(&mut self, call: &MethodCall) -> Result<CallReply, ServiceError> {
        self.requests.push(Request::Invoke(call.clone()));
        self.inner.invoke(call)
    }
    fn poll_job(&mut self, job: &ObjectPath) -> Result<JobView, ServiceError> {
        self.requests.push(Request::PollJob { job: job.clone() });
        self.inner.poll_job(job)
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        self.requests.push(Request::Snapshot);
        self.inner.snapshot()
    }
    /// Counted only when the implementation tracks changes: "not tracked" is no call (the
    /// process adapter sends nothing to an adapter that does not offer `changes`).
    fn changes(&mut self) -> Result<Option<SnapshotDelta>, ServiceError> {
        let answer = self.inner.changes();
        if matches!(answer, Ok(Some(_))) {
            self.requests.push(Request::Changes);
        }
        answer
    }
}

/// The calls one suite run makes against `service` (runs are deterministic per seed).
fn calls_of(service: &mut dyn PoolService, profile: &Profile) -> Vec<Request> {
    let mut counting = Counting {
        inner: service,
        requests: Vec::new(),
    };
    let report = harness::check(&mut counting, profile, &config()).expect("the suite runs");
    assert!(report.failure.is_none(), "the benched target conforms");
    counting.requests
}

/// In process, what the trivial peer does in adapter mode: only primordial pools, every
/// method unsupported. Isolates the harness's own share of `suite_via_trivial_adapter`.
struct Trivial {
    pools: Snapshot,
}

impl PoolService for Trivial {
    fn describe(&self) -> ServiceDescription {
        ServiceDescription {
            name: "trivial".into(),
            version: "1".into(),
            dialect: Dialect::Msvm,
        }
    }
    fn reset(&mut self, fixture: &HostFixture) -> Result<(), ServiceError> {
        self.pools = Snapshot {
            pools: fixture.primordial_views(),
        };
        Ok(())
    }
    fn invoke(&mut self, _: &MethodCall) -> Result<CallReply, ServiceError> {
        Err(ServiceError::Unsupported("trivial".into()))
    }
    fn poll_job(&mut self, _: &ObjectPath) -> Result<JobView, ServiceError> {
        Err(ServiceError::Unsupported("trivial".into()))
    }
    fn snapshot(&mut self) -> Result<Snapshot, ServiceError> {
        Ok(self.pools.clone())
    }
}

/// Make the call `request` describes (what a suite run would), without the harness.
fn replay_call(service: &mut dyn PoolService, request: &Request) -> bool {
    match request {
        Request::Reset { fixture } => service.reset(fixture).is_ok(),
        Request::Invoke(call) => service.invoke(call).is_ok(),
        Request::PollJob { job } => service.poll_job(job).is_ok(),
        Request::Snapshot => service.snapshot().is_ok(),
        Request::Changes => service.changes().is_ok(),
    }
}

/// The trivial peer in bare mode, driven directly over its pipes.
struct BarePeer {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl BarePeer {
    fn spawn() -> BarePeer {
        let mut child = Command::new("python3")
            .args(["-B", &script("examples/python/echo_peer.py"), "--bare"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdin = BufWriter::new(child.stdin.take().expect("stdin"));
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        BarePeer {
            child,
            stdin,
            stdout,
            line: String::new(),
        }
    }

    fn round_trip(&mut self, request: &str) -> usize {
        self.stdin.write_all(request.as_bytes()).expect("write");
        self.stdin.flush().expect("flush");
        self.line.clear();
        let n = self.stdout.read_line(&mut self.line).expect("read");
        assert!(self.line.starts_with("{\"id\":"), "{}", self.line);
        n
    }
}

impl Drop for BarePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn boundary(c: &mut Criterion) {
    let profile = Profile::built_in("reference-msvm");
    let peer = format!("python3 -B '{}'", script("examples/python/echo_peer.py"));
    let mut trivial = ProcessAdapter::spawn(&peer, AdapterOptions::default()).expect("peer");
    let trivial_calls = calls_of(&mut trivial, &profile);
    let lines: Vec<String> = trivial_calls
        .iter()
        .enumerate()
        .map(|(idx, request)| encode_request(idx as u64 + 1, request))
        .collect();
    let mut reference = mutants::build("reference", &profile).expect("reference");
    let reference_calls = calls_of(&mut *reference, &profile).len() as u64;
    let example_command = format!("python3 -B '{}'", script("examples/python/pool_adapter.py"));
    let mut example =
        ProcessAdapter::spawn(&example_command, AdapterOptions::default()).expect("example");
    let example_profile = example.profile(None).expect("its profile");
    let example_calls = calls_of(&mut example, &example_profile).len() as u64;

    let mut group = c.benchmark_group("adapter");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));

    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("bare_round_trips", |b| {
        let mut peer = BarePeer::spawn();
        b.iter(|| {
            for request in &lines {
                black_box(peer.round_trip(request));
            }
        });
    });

    group.throughput(Throughput::Elements(trivial_calls.len() as u64));
    group.bench_function("calls_via_process_adapter", |b| {
        b.iter(|| {
            for request in &trivial_calls {
                black_box(replay_call(&mut trivial, request));
            }
        })
    });

    let threaded = AdapterOptions {
        threads: true,
        ..AdapterOptions::default()
    };
    let mut trivial_threads = ProcessAdapter::spawn(&peer, threaded).expect("peer");
    group.bench_function("calls_via_process_adapter_threads", |b| {
        b.iter(|| {
            for request in &trivial_calls {
                black_box(replay_call(&mut trivial_threads, request));
            }
        })
    });

    group.bench_function("suite_via_trivial_adapter", |b| {
        b.iter(|| black_box(harness::check(&mut trivial, &profile, &config()).expect("runs")))
    });

    let mut in_process_trivial = Trivial {
        pools: Snapshot::default(),
    };
    let in_process_calls = calls_of(&mut in_process_trivial, &profile).len() as u64;
    assert_eq!(in_process_calls, trivial_calls.len() as u64);
    group.bench_function("suite_in_process_trivial", |b| {
        b.iter(|| {
            black_box(harness::check(&mut in_process_trivial, &profile, &config()).expect("runs"))
        })
    });

    group.throughput(Throughput::Elements(reference_calls));
    group.bench_function("suite_in_process_reference", |b| {
        b.iter(|| black_box(harness::check(&mut *reference, &profile, &config()).expect("runs")))
    });

    group.throughput(Throughput::Elements(example_calls));
    group.bench_function("suite_via_python_example", |b| {
        b.iter(|| {
            black_box(harness::check(&mut example, &example_profile, &config()).expect("runs"))
        })
    });
    group.finish();
}

/// The target ratio measured robustly on a busy machine: bare round trips, the same calls
/// through the process adapter, and the suite through the trivial adapter, alternated round by
/// round (the same calls each), so that all three see the same load; prints the medians.
fn interleaved_ratio() {
    const ROUNDS: usize = 15;
    let profile = Profile::built_in("reference-msvm");
    let peer = format!("python3 -B '{}'", script("examples/python/echo_peer.py"));
    let mut trivial = ProcessAdapter::spawn(&peer, AdapterOptions::default()).expect("peer");
    let calls = calls_of(&mut trivial, &profile);
    let lines: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(idx, request)| encode_request(idx as u64 + 1, request))
        .collect();
    let mut bare = BarePeer::spawn();
    let n = calls.len() as f64;
    let rate = |started: Instant| n / started.elapsed().as_secs_f64();
    let rounds: Vec<[f64; 3]> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for request in &lines {
                black_box(bare.round_trip(request));
            }
            let bare_rate = rate(started);
            let started = Instant::now();
            for request in &calls {
                black_box(replay_call(&mut trivial, request));
            }
            let adapter_rate = rate(started);
            let started = Instant::now();
            black_box(harness::check(&mut trivial, &profile, &config()).expect("runs"));
            [bare_rate, adapter_rate, rate(started)]
        })
        .collect();
    let median = |pick: &dyn Fn(&[f64; 3]) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "adapter/interleaved_ratio: {} calls per round, {ROUNDS} rounds, medians: bare {:.0} calls/s, via process adapter {:.0} calls/s ({:.2} of bare), suite via trivial adapter {:.0} calls/s ({:.2} of bare)",
        calls.len(),
        median(&|r| r[0]),
        median(&|r| r[1]),
        median(&|r| r[1] / r[0]),
        median(&|r| r[2]),
        median(&|r| r[2] / r[0])
    );
}

/// `POOLCHECK_ADAPTER_ROUNDS=WHAT:N` (`bare`, `calls` or `suite`): instead of the benches, make
/// one suite run's calls (or the suite itself) N times and exit — the driver for counting the
/// caller's instructions per call with callgrind (run it with N = 1 and N = 11; the difference
/// divided by 10 × the calls per round is the cost per call, start-up cancelled). The Python
/// peer is not traced (no `--trace-children`).
fn rounds_only(spec: &str) {
    let (what, n) = spec.split_once(':').unwrap_or((spec, "1"));
    let n: usize = n.parse().expect("POOLCHECK_ADAPTER_ROUNDS=WHAT:N");
    let profile = Profile::built_in("reference-msvm");
    let peer = format!("python3 -B '{}'", script("examples/python/echo_peer.py"));
    let mut trivial = ProcessAdapter::spawn(&peer, AdapterOptions::default()).expect("peer");
    let calls = calls_of(&mut trivial, &profile);
    let lines: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(idx, request)| encode_request(idx as u64 + 1, request))
        .collect();
    let mut bare = BarePeer::spawn();
    for _ in 0..n {
        match what {
            "bare" => {
                for request in &lines {
                    black_box(bare.round_trip(request));
                }
            }
            "calls" => {
                for request in &calls {
                    black_box(replay_call(&mut trivial, request));
                }
            }
            "suite" => {
                black_box(harness::check(&mut trivial, &profile, &config()).expect("runs"));
            }
            other => panic!("POOLCHECK_ADAPTER_ROUNDS: {other:?} is not bare, calls or suite"),
        }
    }
    println!("{what}: {n} rounds of {} calls", calls.len());
}

fn main() {
    if let Ok(spec) = std::env::var("POOLCHECK_ADAPTER_ROUNDS") {
        rounds_only(&spec);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    boundary(&mut criterion);
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filters
        .iter()
        .all(|f| "adapter/interleaved_ratio".contains(f.as_str()))
    {
        interleaved_ratio();
    }
    criterion.final_summary();
}

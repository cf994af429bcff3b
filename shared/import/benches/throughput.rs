//! Parse-and-validate throughput and peak memory of the import over synthetic files of
//! 10 000, 100 000 and 1 000 000 rows.
//!
//! The file is generated on the fly by a `Read` that writes one row at a time into the
//! caller's buffer, so the input never exists in memory as a whole: the peak resident memory
//! (VmHWM) shows what the reader itself keeps, which is the buffer, the current record and the
//! set of keys seen (it grows with the distinct customer numbers).
//!
//! Run with `cargo bench -p import` (the bench profile: optimised, with the workspace's LTO).
//! Row counts given as arguments replace the three sizes, for a profiler that runs the code
//! far slower but counts its instructions repeatably on a busy machine:
//! `valgrind --tool=callgrind <bench binary> 20000`.

use std::io::Read;
use std::time::{Duration, Instant};

use import::{ImportOptions, ImportReader};

const HEADER: &str = "Customer Number;First Name;Last Name;Company;Email;Mobile;Street;Postal Code;City;Country;Credit Limit;Balance;Terms;Tags;Notes\r\n";

/// A CSV file of `rows` customers, produced as it is read.
struct SyntheticFile {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
    at: usize,
}

impl SyntheticFile {
    fn new(rows: u64) -> Self {
        Self {
            rows,
            next: 0,
            pending: HEADER.as_bytes().to_vec(),
            at: 0,
        }
    }

    fn fill(&mut self) {
        use std::fmt::Write;
        let n = self.next;
        self.next += 1;
        self.pending.clear();
        self.at = 0;
        let mut row = String::with_capacity(256);
        let company = if n.is_multiple_of(3) {
            "Berg Bygg AB"
        } else {
            ""
        };
        let _ = write!(
            row,
            "{};Åsa;Öberg {};{company};asa.{}@example.com;070-{:03} {:02} {:02};Storgatan {};{:03} {:02};Västerås;SE;\"{} 000,00\";({},50);30 dagar;\"garden, vip\";\"Gate code {}\r\nring twice\"\r\n",
            100_000 + n,
            n % 97,
            n,
            n % 1000,
            n % 100,
            (n / 100) % 100,
            n % 200 + 1,
            100 + n % 900,
            n % 100,
            n % 50,
            n % 10,
            n % 10_000,
        );
        self.pending.extend_from_slice(row.as_bytes());
    }
}

impl Read for SyntheticFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.at == self.pending.len() {
                if self.next == self.rows {
                    break;
                }
                self.fill();
            }
            let n = (self.pending.len() - self.at).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&self.pending[self.at..self.at + n]);
            self.at += n;
            written += n;
        }
        Ok(written)
    }
}

/// Time this thread has spent on a CPU, from /proc/thread-self/schedstat (Linux): rows per
/// CPU-second is the figure "on one core", whatever else the machine runs meanwhile.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The aim for parse-and-validate on one core (15.3).
const TARGET_ROWS_PER_CPU_SECOND: f64 = 200_000.0;

/// Peak resident memory so far, from /proc/self/status (Linux).
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut options = ImportOptions::for_country("SE");
    // The first rows pay for loading the phone-number metadata and compiling its patterns;
    // a warm-up keeps that out of the 10 000-row figure.
    let warm_up = ImportReader::new(SyntheticFile::new(1_000), &options).expect("header");
    assert_eq!(warm_up.filter(Result::is_ok).count(), 1_000);
    println!(
        "after a 1 000-row warm-up: peak resident memory {} KiB",
        peak_resident_kib().unwrap_or(0)
    );
    // As the import function reads: repeats are found in the table, not in memory. Run first,
    // because the peak only ever grows within a process.
    options.remember_keys = false;
    println!("without the in-memory key set (the import function):");
    run(&options);
    options.remember_keys = true;
    println!("with the in-memory key set (duplicates found by the reader):");
    run(&options);
}

/// CPU time of producing `rows` rows of the file alone (read and dropped): the generator's
/// own cost, which is not the import's and is taken off its figure.
fn generating(rows: u64) -> Duration {
    let before = thread_cpu().unwrap_or_default();
    let mut file = SyntheticFile::new(rows);
    let mut buffer = vec![0u8; 8 * 1024];
    while file.read(&mut buffer).expect("generated") > 0 {}
    thread_cpu().unwrap_or_default().saturating_sub(before)
}

/// The row counts to measure: the arguments that are numbers (cargo passes `--bench`), or
/// the three sizes.
fn sizes() -> Vec<u64> {
    let given: Vec<u64> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    if given.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        given
    }
}

fn run(options: &ImportOptions) {
    for rows in sizes() {
        let started = Instant::now();
        let cpu_before = thread_cpu();
        let reader = ImportReader::new(SyntheticFile::new(rows), options).expect("header");
        let (mut valid, mut invalid) = (0u64, 0u64);
        for row in reader {
            match row {
                Ok(_) => valid += 1,
                Err(_) => invalid += 1,
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = thread_cpu()
            .zip(cpu_before)
            .map_or(seconds, |(after, before)| (after - before).as_secs_f64());
        assert_eq!(valid + invalid, rows);
        let generator = generating(rows).as_secs_f64();
        let per_cpu_second = rows as f64 / (cpu - generator);
        println!(
            "{rows:>9} rows: {valid} valid, {invalid} invalid, {seconds:.2} s, {:.0} rows/s; parse and validate on one core {per_cpu_second:.0} rows per CPU-second (target {TARGET_ROWS_PER_CPU_SECOND:.0}: {}; {cpu:.2} CPU-s, of which generating the file {generator:.2}), peak resident memory {} KiB",
            rows as f64 / seconds,
            if per_cpu_second >= TARGET_ROWS_PER_CPU_SECOND {
                "met"
            } else {
                "NOT met"
            },
            peak_resident_kib().unwrap_or(0),
        );
    }
}

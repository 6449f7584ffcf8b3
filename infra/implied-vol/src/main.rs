// Times the `implied-vol` crate on the contracts the Node bench wrote (7 columns of n f64: spot,
// strike, t, rate, dividend yield, price, is_call), one thread. The crate gives the implied
// volatility (Hybrid solver: Let's Be Rational, FlashIV for some low prices) but no Greeks, so
// "IV + Greeks" is the crate's IV followed by closed-form Black–Scholes–Merton Greeks with the
// crate's own normal CDF, the same outputs our solveBatch writes. Writes the IVs (0 = none) to
// <out> for the agreement check and prints one JSON line.
//   stockify-implied-vol-reference <contracts.f64> <n> <ivs.f64 out> [repetitions]
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility, SpecialFn};
use std::hint::black_box;
use std::time::Instant;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time of this thread in seconds (Linux CLOCK_THREAD_CPUTIME_ID), the figure comparable to
/// the Node bench's process.threadCpuUsage on a machine other processes keep busy.
fn thread_cpu_seconds() -> f64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into a valid, exclusively borrowed struct.
    let rc = unsafe { clock_gettime(3, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

const DAYS_PER_YEAR: f64 = 365.0;
const ONE_OVER_SQRT_TWO_PI: f64 = 0.398_942_280_401_432_7;

struct Columns<'a> {
    spot: &'a [f64],
    strike: &'a [f64],
    t: &'a [f64],
    rate: &'a [f64],
    q: &'a [f64],
    price: &'a [f64],
    is_call: &'a [f64],
}

#[inline(always)]
fn implied_vol(c: &Columns, i: usize) -> f64 {
    let (t, r) = (c.t[i], c.rate[i]);
    let forward = c.spot[i] * ((r - c.q[i]) * t).exp();
    ImpliedBlackVolatility::builder()
        .option_price(c.price[i] * (r * t).exp())
        .forward(forward)
        .strike(c.strike[i])
        .expiry(t)
        .is_call(c.is_call[i] > 0.5)
        .build()
        .and_then(|iv| iv.calculate::<DefaultSpecialFn>())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(0.0)
}

/// IV of every contract into `iv`; returns how many had none.
fn solve_iv(c: &Columns, iv: &mut [f64]) -> usize {
    let mut failures = 0;
    for i in 0..iv.len() {
        iv[i] = implied_vol(c, i);
        failures += (iv[i] == 0.0) as usize;
    }
    failures
}

/// IV and delta, gamma, theta (per day), vega and rho (per point) of every contract.
fn solve_all(c: &Columns, iv: &mut [f64], greeks: &mut [[f64; 5]]) -> usize {
    let mut failures = 0;
    for i in 0..iv.len() {
        let sigma = implied_vol(c, i);
        iv[i] = sigma;
        if sigma == 0.0 {
            failures += 1;
            greeks[i] = [0.0; 5];
            continue;
        }
        let (s, k, t, r, q) = (c.spot[i], c.strike[i], c.t[i], c.rate[i], c.q[i]);
        let sqrt_t = t.sqrt();
        let sd = sigma * sqrt_t;
        let dq = (-q * t).exp();
        let dr = (-r * t).exp();
        let d1 = ((s / k).ln() + (r - q) * t) / sd + 0.5 * sd;
        let d2 = d1 - sd;
        let pdf = ONE_OVER_SQRT_TWO_PI * (-0.5 * d1 * d1).exp();
        let s_pdf = s * dq * pdf;
        let decay = -(s_pdf * sigma) / (2.0 * sqrt_t);
        let sign = if c.is_call[i] > 0.5 { 1.0 } else { -1.0 };
        let n1 = DefaultSpecialFn::norm_cdf(sign * d1);
        let n2 = DefaultSpecialFn::norm_cdf(sign * d2);
        greeks[i] = [
            sign * dq * n1,
            dq * pdf / (s * sd),
            (decay - sign * r * k * dr * n2 + sign * q * s * dq * n1) / DAYS_PER_YEAR,
            s_pdf * sqrt_t / 100.0,
            sign * k * t * dr * n2 / 100.0,
        ];
    }
    failures
}

/// Best wall and best thread-CPU seconds of `repetitions` runs of `f`, after one warm-up run.
fn time(repetitions: usize, mut f: impl FnMut() -> usize) -> (f64, f64, usize) {
    let mut failures = black_box(f());
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repetitions {
        let cpu_started = thread_cpu_seconds();
        let started = Instant::now();
        failures = black_box(f());
        wall = wall.min(started.elapsed().as_secs_f64());
        cpu = cpu.min(thread_cpu_seconds() - cpu_started);
    }
    (wall, cpu, failures)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: {} <contracts.f64> <n> <ivs.f64 out> [repetitions]", args[0]);
        std::process::exit(2);
    }
    let n: usize = args[2].parse().expect("n: a positive integer");
    let repetitions: usize = args.get(4).map_or(3, |v| v.parse().expect("repetitions: a positive integer"));
    let bytes = std::fs::read(&args[1]).unwrap_or_else(|e| panic!("reading {}: {e}", args[1]));
    assert_eq!(bytes.len(), 7 * n * 8, "{} holds {} bytes, not 7 columns of {n} f64", args[1], bytes.len());
    let data: Vec<f64> = bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
    let col = |j: usize| &data[j * n..(j + 1) * n];
    let c = Columns { spot: col(0), strike: col(1), t: col(2), rate: col(3), q: col(4), price: col(5), is_call: col(6) };
    let mut iv = vec![0.0; n];
    let mut greeks = vec![[0.0; 5]; n];
    let (iv_wall, iv_cpu, iv_failures) = time(repetitions, || solve_iv(&c, &mut iv));
    let (all_wall, all_cpu, _) = time(repetitions, || solve_all(&c, &mut iv, &mut greeks));
    let out: Vec<u8> = iv.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&args[3], out).unwrap_or_else(|e| panic!("writing {}: {e}", args[3]));
    println!(
        "{{\"library\":\"implied-vol 2.1.0 (Rust, Hybrid solver)\",\"n\":{n},\"repetitions\":{repetitions},\"ivSeconds\":{iv_wall},\"ivCpuSeconds\":{iv_cpu},\"seconds\":{all_wall},\"cpuSeconds\":{all_cpu},\"ivFailures\":{iv_failures}}}"
    );
}

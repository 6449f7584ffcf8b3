// Benchmark: implied volatility plus every Greek for 1,000,000 contracts on one core, ours
// (services/processor/greeks.ts solveBatch) against two references on the same inputs: py_vollib
// (py_vollib_vectorized when it builds, else the scalar py_vollib on a sample), and the Rust crate
// implied-vol in a reference binary (infra/implied-vol, built by its build.sh into the cache),
// timed per CPU-second of its thread like ours, IV alone and IV + Greeks.
// Run: node tests/bench/processor/greeks.bench.ts [contracts]
// Prints ours, the references and the ratios; writes .local/bench/processor.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bsmPrice, type Contract } from '../../../services/processor/black-scholes.ts';
import { allocateGreeksBatch, type ContractBatch, solveBatch } from '../../../services/processor/greeks.ts';
import { impliedBlackVolatility } from '../../../services/processor/implied-vol.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BENCH_DIR = join(ROOT, '.local', 'bench');
const VENV = join(BENCH_DIR, 'venv');

/** A small deterministic generator (mulberry32), so every run prices the same contracts. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Contracts across ±3 standard deviations of moneyness, T from one hour to two years, σ 5–100%. */
export function makeContracts(n: number, seed = 7): ContractBatch {
  const r = rng(seed);
  const batch: ContractBatch = {
    spot: new Float64Array(n),
    strike: new Float64Array(n),
    t: new Float64Array(n),
    rate: new Float64Array(n),
    dividendYield: new Float64Array(n),
    price: new Float64Array(n),
    isCall: new Uint8Array(n),
  };
  const c: Contract = { spot: 0, strike: 0, t: 0, rate: 0, dividendYield: 0, right: 'call' };
  for (let i = 0; i < n; i++) {
    const spot = 20_000 + 5_000 * r();
    const t = 1 / 8760 + (2 - 1 / 8760) * r() ** 2;
    const sigma = 0.05 + 0.95 * r();
    const k = -3 + 6 * r();
    c.spot = spot;
    c.strike = spot * Math.exp(k * sigma * Math.sqrt(t));
    c.t = t;
    c.rate = 0.065;
    c.dividendYield = 0.01;
    c.right = r() < 0.5 ? 'call' : 'put';
    batch.spot[i] = spot;
    batch.strike[i] = c.strike;
    batch.t[i] = t;
    batch.rate[i] = c.rate;
    batch.dividendYield[i] = c.dividendYield;
    batch.price[i] = bsmPrice(c, sigma);
    batch.isCall[i] = c.right === 'call' ? 1 : 0;
  }
  return batch;
}

export interface BenchResult {
  contracts: number;
  /**
   * Best of `repetitions` timed solves of every contract (inputs generated and the JIT warmed up
   * outside the timed region). contractsPerSecond is by the wall clock; contractsPerCpuSecond by
   * this thread's CPU time, the per-core figure on a machine that other processes keep busy.
   */
  ours: {
    seconds: number;
    contractsPerSecond: number;
    cpuSeconds: number;
    contractsPerCpuSecond: number;
    repetitions: number;
    ivFailures: number;
  };
  /** IV alone (forward, undiscounting and the solve, as the Rust reference does it), per CPU-second. */
  oursIvOnly: { cpuSeconds: number; contractsPerCpuSecond: number };
  reference: { library: string; contracts: number; seconds: number; contractsPerSecond: number } | { error: string };
  ratio: number | null;
  vectorised: VectorisedReference | { error: string };
}

export interface VectorisedReference {
  library: string;
  contracts: number;
  /** IV alone and IV + Greeks, per CPU-second of the reference's thread (best of its repetitions). */
  ivContractsPerCpuSecond: number;
  contractsPerCpuSecond: number;
  contractsPerSecond: number;
  ivFailures: number;
  /** ours ÷ reference, per CPU-second. */
  ivRatio: number;
  ratio: number;
  /** Largest |σ ours − σ crate| / σ over contracts both solve. */
  maxRelativeIvDifference: number;
  bothSolved: number;
}

/** The contracts as 7 little-endian f64 columns (spot, strike, t, rate, q, price, isCall) for the references. */
function writeContracts(batch: ContractBatch, n: number): string {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, 'contracts.f64');
  const all = new Float64Array(7 * n);
  const columns = [batch.spot, batch.strike, batch.t, batch.rate, batch.dividendYield, batch.price];
  columns.forEach((col, j) => {
    all.set(col.subarray(0, n), j * n);
  });
  for (let i = 0; i < n; i++) all[6 * n + i] = batch.isCall[i] as number;
  writeFileSync(file, Buffer.from(all.buffer));
  return file;
}

function referenceRun(file: string, n: number): BenchResult['reference'] {
  const python = join(VENV, 'bin', 'python');
  try {
    if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    try {
      execFileSync(python, ['-c', 'import py_vollib_vectorized'], { stdio: 'ignore' });
    } catch {
      execFileSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'py_vollib_vectorized'], { stdio: 'inherit' });
    }
    const out = execFileSync(python, [join(ROOT, 'tests', 'bench', 'processor', 'reference.py'), file, String(n)], {
      env: { ...process.env, NUMBA_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const parsed = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { library: string; n: number; seconds: number };
    return {
      library: parsed.library,
      contracts: parsed.n,
      seconds: parsed.seconds,
      contractsPerSecond: parsed.n / parsed.seconds,
    };
  } catch (err) {
    return { error: `reference library unavailable: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * The Rust crate implied-vol on the same contracts: built once by infra/implied-vol/build.sh (cargo,
 * cached), then timed by itself (thread CPU time, best of 3). The crate has no Greeks, so its
 * "IV + Greeks" is the crate's IV and closed-form Greeks with the crate's Φ in the same binary.
 */
function vectorisedRun(
  file: string,
  n: number,
  ours: { iv: Float64Array; ivCpu: number; allCpu: number },
): BenchResult['vectorised'] {
  try {
    const bin = execFileSync(join(ROOT, 'infra', 'implied-vol', 'build.sh'), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const ivFile = join(BENCH_DIR, 'implied-vol-ivs.f64');
    const out = execFileSync(bin, [file, String(n), ivFile], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      library: string;
      n: number;
      ivCpuSeconds: number;
      cpuSeconds: number;
      seconds: number;
      ivFailures: number;
    };
    const theirs = new Float64Array(readFileSync(ivFile).buffer.slice(0));
    let maxRelativeIvDifference = 0;
    let bothSolved = 0;
    for (let i = 0; i < n; i++) {
      const a = ours.iv[i] as number;
      const b = theirs[i] as number;
      if (!(a > 0 && b > 0)) continue;
      bothSolved++;
      maxRelativeIvDifference = Math.max(maxRelativeIvDifference, Math.abs(a - b) / b);
    }
    return {
      library: r.library,
      contracts: r.n,
      ivContractsPerCpuSecond: r.n / r.ivCpuSeconds,
      contractsPerCpuSecond: r.n / r.cpuSeconds,
      contractsPerSecond: r.n / r.seconds,
      ivFailures: r.ivFailures,
      ivRatio: r.ivCpuSeconds / ours.ivCpu,
      ratio: r.cpuSeconds / ours.allCpu,
      maxRelativeIvDifference,
      bothSolved,
    };
  } catch (err) {
    return { error: `implied-vol reference unavailable: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** IV alone, the work the Rust reference's IV timing does: forward, undiscounted price, solve. */
function solveIvOnly(b: ContractBatch, iv: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const T = b.t[i] as number;
    const r = b.rate[i] as number;
    const F = (b.spot[i] as number) * Math.exp((r - (b.dividendYield[i] as number)) * T);
    const s = impliedBlackVolatility((b.price[i] as number) * Math.exp(r * T), F, b.strike[i] as number, T, b.isCall[i] === 1);
    iv[i] = Math.max(s, 0);
  }
}

/** Best wall and thread-CPU seconds of `repetitions` runs of `run`. */
function best(repetitions: number, run: () => void): { seconds: number; cpuSeconds: number } {
  let seconds = Number.POSITIVE_INFINITY;
  let cpuSeconds = Number.POSITIVE_INFINITY;
  for (let k = 0; k < repetitions; k++) {
    const cpuStarted = process.threadCpuUsage();
    const started = process.hrtime.bigint();
    run();
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.threadCpuUsage(cpuStarted);
    seconds = Math.min(seconds, wall);
    cpuSeconds = Math.min(cpuSeconds, (cpu.user + cpu.system) / 1e6);
  }
  return { seconds, cpuSeconds };
}

export function runGreeksBench(n = 1_000_000, repetitions = 3): BenchResult {
  const batch = makeContracts(n);
  const out = allocateGreeksBatch(n);
  solveBatch(batch, out, Math.min(n, 20_000)); // warm up the JIT
  let ivFailures = 0;
  const { seconds, cpuSeconds } = best(repetitions, () => {
    ivFailures = solveBatch(batch, out, n);
  });
  const ivOnly = new Float64Array(n);
  solveIvOnly(batch, ivOnly, Math.min(n, 20_000));
  const ivTimes = best(repetitions, () => solveIvOnly(batch, ivOnly, n));
  const ours = {
    seconds,
    contractsPerSecond: n / seconds,
    cpuSeconds,
    contractsPerCpuSecond: n / cpuSeconds,
    repetitions,
    ivFailures,
  };
  const file = writeContracts(batch, n);
  const vectorised = vectorisedRun(file, n, { iv: out.iv, ivCpu: ivTimes.cpuSeconds, allCpu: cpuSeconds });
  const reference = referenceRun(file, n);
  const ratio = 'contractsPerSecond' in reference ? ours.contractsPerSecond / reference.contractsPerSecond : null;
  const oursIvOnly = { cpuSeconds: ivTimes.cpuSeconds, contractsPerCpuSecond: n / ivTimes.cpuSeconds };
  return { contracts: n, ours, oursIvOnly, reference, ratio, vectorised };
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const result = runGreeksBench(n);
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  process.stdout.write(`IV + all Greeks, ${fmt(n)} contracts, one core\n`);
  process.stdout.write(
    `  ours       ${fmt(result.ours.contractsPerSecond)} contracts/s (${result.ours.seconds.toFixed(3)} s wall, best of ${result.ours.repetitions}, ${result.ours.ivFailures} without IV)\n`,
  );
  process.stdout.write(
    `             ${fmt(result.ours.contractsPerCpuSecond)} contracts per CPU-second (${result.ours.cpuSeconds.toFixed(3)} s of this thread's CPU time)\n`,
  );
  if ('contractsPerSecond' in result.reference) {
    process.stdout.write(
      `  reference  ${fmt(result.reference.contractsPerSecond)} contracts/s — ${result.reference.library}, timed on ${fmt(result.reference.contracts)} contracts\n`,
    );
    process.stdout.write(`  ratio      ${result.ratio?.toFixed(2)}× the reference\n`);
  } else {
    process.stdout.write(`  reference  ${result.reference.error}\n`);
  }
  const v = result.vectorised;
  process.stdout.write(`  IV alone   ${fmt(result.oursIvOnly.contractsPerCpuSecond)} contracts per CPU-second (ours)\n`);
  if ('ratio' in v) {
    process.stdout.write(
      `  vectorised ${v.library}: IV alone ${fmt(v.ivContractsPerCpuSecond)}, IV + Greeks ${fmt(v.contractsPerCpuSecond)} contracts per CPU-second\n`,
    );
    process.stdout.write(
      `  ratio      ${v.ivRatio.toFixed(2)}× (IV alone), ${v.ratio.toFixed(2)}× (IV + Greeks); IVs agree to ${v.maxRelativeIvDifference.toExponential(1)} (relative) on ${fmt(v.bothSolved)} contracts\n`,
    );
  } else {
    process.stdout.write(`  vectorised ${v.error}\n`);
  }
  mkdirSync(BENCH_DIR, { recursive: true });
  writeFileSync(join(BENCH_DIR, 'processor.json'), `${JSON.stringify(result, null, 2)}\n`);
}

// Benchmark: implied volatility plus every Greek for 1,000,000 contracts on one core, ours
// (services/processor/greeks.ts solveBatch) against py_vollib_vectorized on the same inputs.
// Run: node tests/bench/processor/greeks.bench.ts [contracts]
// Prints ours, the reference and the ratio; writes .local/bench/processor.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bsmPrice, type Contract } from '../../../services/processor/black-scholes.ts';
import { allocateGreeksBatch, type ContractBatch, solveBatch } from '../../../services/processor/greeks.ts';

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
  reference: { library: string; contracts: number; seconds: number; contractsPerSecond: number } | { error: string };
  ratio: number | null;
}

function referenceRun(batch: ContractBatch, n: number): BenchResult['reference'] {
  const python = join(VENV, 'bin', 'python');
  try {
    if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    try {
      execFileSync(python, ['-c', 'import py_vollib_vectorized'], { stdio: 'ignore' });
    } catch {
      execFileSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'py_vollib_vectorized'], { stdio: 'inherit' });
    }
    const file = join(BENCH_DIR, 'contracts.f64');
    const all = new Float64Array(7 * n);
    const columns = [batch.spot, batch.strike, batch.t, batch.rate, batch.dividendYield, batch.price];
    columns.forEach((col, j) => {
      all.set(col.subarray(0, n), j * n);
    });
    for (let i = 0; i < n; i++) all[6 * n + i] = batch.isCall[i] as number;
    writeFileSync(file, Buffer.from(all.buffer));
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

export function runGreeksBench(n = 1_000_000, repetitions = 3): BenchResult {
  const batch = makeContracts(n);
  const out = allocateGreeksBatch(n);
  solveBatch(batch, out, Math.min(n, 20_000)); // warm up the JIT
  let seconds = Number.POSITIVE_INFINITY;
  let cpuSeconds = Number.POSITIVE_INFINITY;
  let ivFailures = 0;
  for (let k = 0; k < repetitions; k++) {
    const cpuStarted = process.threadCpuUsage();
    const started = process.hrtime.bigint();
    ivFailures = solveBatch(batch, out, n);
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.threadCpuUsage(cpuStarted);
    seconds = Math.min(seconds, wall);
    cpuSeconds = Math.min(cpuSeconds, (cpu.user + cpu.system) / 1e6);
  }
  const ours = {
    seconds,
    contractsPerSecond: n / seconds,
    cpuSeconds,
    contractsPerCpuSecond: n / cpuSeconds,
    repetitions,
    ivFailures,
  };
  const reference = referenceRun(batch, n);
  const ratio = 'contractsPerSecond' in reference ? ours.contractsPerSecond / reference.contractsPerSecond : null;
  return { contracts: n, ours, reference, ratio };
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
  mkdirSync(BENCH_DIR, { recursive: true });
  writeFileSync(join(BENCH_DIR, 'processor.json'), `${JSON.stringify(result, null, 2)}\n`);
}

// The end-to-end throughput's reference, run in the same bench: the null pipeline, the same three
// Kafka hops with our Kafka code and settings but no work per record (null-hop.ts, one process a
// hop), N pre-encoded raw ticks from a fresh pseudo feed's raw topic to its enriched topic's
// consumer. Its rate is taken as ours is: between the first and the last committed records at the
// end of the line.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../../../services/core/kafka.ts';
import type { Logger } from '../../../services/core/log.ts';
import { consumerGroup, shardTopicSpecs } from '../../../services/core/topics.ts';
import { PARTITIONS } from '../kafka/consumer.ts';
import { ensureTopicsRetried } from '../kafka/topics.ts';
import { BENCH_NAMESPACE, readCpuSeconds, readServiceCpu } from './processes.ts';

const HOP = fileURLToPath(new URL('./null-hop.ts', import.meta.url));
/** The namespace of the pseudo feed whose topic and group names the hops use: the bench's. */
export const NULL_NAMESPACE = BENCH_NAMESPACE;
const ROLES = ['source', 'relay', 'sink'] as const;
type Role = (typeof ROLES)[number];

export interface NullPipelineResult {
  records: number;
  sent: number;
  committed: number;
  seconds: number;
  recordsPerSecond: number;
  /** CPU time (user + system) per record of each hop's process, start-up included. */
  cpuUsPerRecord: Record<Role, number>;
  /** The Kafka broker's CPU and the whole machine's (every core) per record while the records flowed. */
  brokerCpuUsPerRecord: number;
  machineCpuUsPerRecord: number;
}

interface HopEvent {
  event: 'ready' | 'sending' | 'first' | 'done' | 'sent';
  count?: number;
  atMs?: number;
  /** The source's own CPU time so far (user + system), µs. */
  cpuUs?: number;
}

interface Hop {
  role: Role;
  proc: ChildProcess;
  events: HopEvent[];
  next(event: HopEvent['event'], timeoutMs: number): Promise<HopEvent>;
}

function startHop(role: Role, env: NodeJS.ProcessEnv): Hop {
  const proc = spawn(process.execPath, [HOP, role], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: HopEvent[] = [];
  const waiting: { event: string; resolve: (e: HopEvent) => void }[] = [];
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const e = JSON.parse(line) as HopEvent;
    events.push(e);
    for (const w of waiting.filter((x) => x.event === e.event)) w.resolve(e);
  });
  return {
    role,
    proc,
    events,
    next(event, timeoutMs) {
      const seen = events.find((e) => e.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`null pipeline: no '${event}' from the ${role} in ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        proc.once('exit', (code) => reject(new Error(`null pipeline: the ${role} exited (${code}) before '${event}'`)));
        waiting.push({
          event,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

async function stopHop(hop: Hop): Promise<void> {
  if (hop.proc.exitCode !== null || hop.proc.signalCode !== null) return;
  const exited = new Promise((r) => hop.proc.once('exit', r));
  hop.proc.kill('SIGKILL');
  await exited;
}

export async function runNullPipeline(env: { brokers: string; log: Logger }, records: number): Promise<NullPipelineResult> {
  const feed = `null-${Date.now().toString(36)}`;
  const kafka = createKafka(env.brokers.split(','), 'stockify-bench-null', env.log);
  const admin = kafka.admin();
  await admin.connect();
  const specs = shardTopicSpecs({ namespace: NULL_NAMESPACE, feed, partitionsPerShard: PARTITIONS, replicationFactor: 1 }, 0);
  // Every partition has a leader when it returns: the hops subscribe at once.
  await ensureTopicsRetried(admin, specs);
  const childEnv = { ...process.env, KAFKA_BROKERS: env.brokers, NULL_FEED: feed, NULL_RECORDS: String(records) };
  const hops: Hop[] = [];
  try {
    // The consumers first, as in the end-to-end run; the source once both joined.
    const sink = startHop('sink', childEnv);
    const relay = startHop('relay', childEnv);
    hops.push(sink, relay);
    await Promise.all([sink.next('ready', 60_000), relay.next('ready', 60_000)]);
    const source = startHop('source', childEnv);
    hops.push(source);
    const consumersCpu0 = [readCpuSeconds(relay.proc.pid) ?? 0, readCpuSeconds(sink.proc.pid) ?? 0];
    const first = await sink.next('first', 300_000);
    // The services' and the machine's CPU over the window the rate is taken in (first → done).
    const services0 = readServiceCpu();
    const done = await sink.next('done', 300_000);
    const services1 = readServiceCpu();
    const [relayCpu, sinkCpu] = [readCpuSeconds(relay.proc.pid) ?? 0, readCpuSeconds(sink.proc.pid) ?? 0];
    // The source's CPU counts from when its records are encoded and it starts sending (its own figure).
    const [sending, sent] = await Promise.all([source.next('sending', 60_000), source.next('sent', 60_000)]);
    const committed = done.count ?? 0;
    const perRecord = (us: number) => Math.round((us / Math.max(1, committed)) * 10) / 10;
    const perWindowRecord = (us: number) => Math.round((us / Math.max(1, committed - (first.count ?? 0))) * 10) / 10;
    const seconds = ((done.atMs ?? 0) - (first.atMs ?? 0)) / 1000;
    return {
      records,
      sent: sent.count ?? 0,
      committed,
      seconds,
      recordsPerSecond: (committed - (first.count ?? 0)) / seconds,
      cpuUsPerRecord: {
        source: perRecord((sent.cpuUs ?? 0) - (sending.cpuUs ?? 0)),
        relay: perRecord((relayCpu - (consumersCpu0[0] ?? 0)) * 1e6),
        sink: perRecord((sinkCpu - (consumersCpu0[1] ?? 0)) * 1e6),
      },
      brokerCpuUsPerRecord: perWindowRecord((services1.services['Kafka broker'] - services0.services['Kafka broker']) * 1e6),
      machineCpuUsPerRecord: perWindowRecord((services1.machineBusy - services0.machineBusy) * 1e6),
    };
  } finally {
    await Promise.all(hops.map(stopHop));
    await admin.deleteTopics({ topics: specs.map((s) => s.topic) }).catch(() => undefined);
    await admin
      .deleteGroups([consumerGroup('processor', NULL_NAMESPACE, feed, 0), consumerGroup('storage', NULL_NAMESPACE, feed, 0)])
      .catch(() => undefined);
    await admin.disconnect();
  }
}

// Kafka's own performance tools (ProducerPerformance, ConsumerPerformance from the broker's
// distribution, run through infra/kafka/run-class.sh): the reference every Kafka figure of
// `make bench` is a ratio against. Each is run as a child process and its summary line parsed.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUN_CLASS = fileURLToPath(new URL('../../../infra/kafka/run-class.sh', import.meta.url));

export interface PerfResult {
  records: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

function runClass(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(RUN_CLASS, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`${args[0]} failed: ${err.message.split('\n')[0]}; ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(stdout);
    });
  });
}

/**
 * ProducerPerformance's last line: "100000 records sent, 45662.1 records/sec (8.71 MB/sec), ...".
 * Its MB is 1024 × 1024 bytes; converted here to 10^6 bytes like our figures.
 */
export function parseProducerPerformance(out: string): PerfResult {
  const lines = out
    .trim()
    .split('\n')
    .filter((l) => /records sent,/.test(l));
  const last = lines.at(-1);
  const m = last?.match(/^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/);
  if (!m) throw new Error(`cannot read ProducerPerformance output: ${out.trim().split('\n').at(-1) ?? '(empty)'}`);
  return {
    records: Number(m[1]),
    messagesPerSecond: Number(m[2]),
    megabytesPerSecond: (Number(m[3]) * 1048576) / 1e6,
  };
}

/**
 * ConsumerPerformance prints a header and one line of values; the fetch.* columns leave out the
 * group join (rebalance), as our consumer figure does.
 */
export function parseConsumerPerformance(out: string): PerfResult {
  const lines = out.trim().split('\n');
  const header = lines.findIndex((l) => l.includes('fetch.nMsg.sec'));
  const values = lines[header + 1];
  if (header < 0 || values === undefined) throw new Error(`cannot read ConsumerPerformance output: ${lines.at(-1) ?? '(empty)'}`);
  const names = (lines[header] as string).split(',').map((s) => s.trim());
  const cells = values.split(',').map((s) => s.trim());
  const get = (name: string): number => {
    const v = Number(cells[names.indexOf(name)]);
    if (!Number.isFinite(v)) throw new Error(`ConsumerPerformance: no number for ${name} in '${values}'`);
    return v;
  };
  return {
    records: get('data.consumed.in.nMsg'),
    messagesPerSecond: get('fetch.nMsg.sec'),
    megabytesPerSecond: (get('fetch.MB.sec') * 1048576) / 1e6,
  };
}

export async function producerPerformance(
  brokers: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<PerfResult> {
  const out = await runClass(
    [
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
    ],
    300_000,
  );
  return parseProducerPerformance(out);
}

export async function consumerPerformance(brokers: string, topic: string, group: string, records: number): Promise<PerfResult> {
  const out = await runClass(
    [
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--group',
      group,
      '--messages',
      String(records),
      '--timeout',
      '60000',
    ],
    300_000,
  );
  return parseConsumerPerformance(out);
}

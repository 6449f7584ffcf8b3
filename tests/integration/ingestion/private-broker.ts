// A throwaway single-node KRaft broker for tests that must stop a broker (the shared one is used
// by others): the Kafka jars the infra scripts cache, its own ports and a data dir under .local/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, ROOT } from './helpers.ts';

export interface PrivateBroker {
  brokers: string[];
  start(): Promise<void>;
  kill(): Promise<void>;
  remove(): Promise<void>;
}

function kafkaHome(): string {
  return execFileSync(
    'bash',
    ['-c', `. "${join(ROOT, 'infra/lib.sh')}" && "$INFRA_DIR/kafka/fetch.sh" >&2 && echo "$KAFKA_HOME"`],
    {
      encoding: 'utf8',
    },
  ).trim();
}

export async function privateBroker(name: string): Promise<PrivateBroker> {
  const home = kafkaHome();
  const port = await freePort();
  const controller = await freePort();
  const dir = join(ROOT, '.local', 'itest-brokers', name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  const java = [
    '-Xmx384m',
    '-Xms128m',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(ROOT, 'infra/kafka/log4j.properties')}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    `${home}/libs/*`,
  ];
  const id = execFileSync('java', [...java, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' }).trim();
  execFileSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', props], { stdio: 'ignore' });
  let child: ChildProcess | undefined;
  const brokers = [`127.0.0.1:${port}`];

  const ready = async (): Promise<void> => {
    const kafka = new Kafka({ clientId: 'private-broker-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const until = Date.now() + 90_000;
    for (;;) {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.listTopics();
        await admin.disconnect();
        return;
      } catch {
        await admin.disconnect().catch(() => undefined);
        if (Date.now() > until) throw new Error(`private broker on ${brokers[0]} did not become ready`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  return {
    brokers,
    kill,
    async start() {
      const log = openSync(join(dir, 'broker.out'), 'a');
      child = spawn('java', [...java, 'kafka.Kafka', props], { stdio: ['ignore', log, log] });
      await ready();
    },
    async remove() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

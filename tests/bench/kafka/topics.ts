// Topic creation for the benchmarks: ensureTopics, retried, since a broker busy creating many
// topics can answer a metadata request for a brand-new topic before its leader is known; then a
// wait until every partition has a leader, so the benchmark's consumers can subscribe at once.
import type { Admin } from 'kafkajs';
import { ensureTopics } from '../../../services/core/kafka.ts';
import type { TopicSpec } from '../../../services/core/topics.ts';

export async function ensureTopicsRetried(admin: Admin, specs: readonly TopicSpec[], attempts = 6): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await ensureTopics(admin, specs);
      break;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
  await waitForLeaders(admin, specs);
}

/**
 * Until the broker's metadata names a leader for every partition: a consumer that subscribes
 * before that (a just-started broker, a topic just made) fails with UNKNOWN_TOPIC_OR_PARTITION.
 */
async function waitForLeaders(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const topics = specs.map((t) => t.topic);
  for (let i = 0; ; i++) {
    const meta = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
    if (meta?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    if (i >= 40) throw new Error(`topics ${topics.join(', ')} have no leader after 10 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

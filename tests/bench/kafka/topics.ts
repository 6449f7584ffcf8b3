// Topic creation for the benchmarks: ensureTopics, retried, since a broker busy creating many
// topics can answer a metadata request for a brand-new topic before its leader is known.
import type { Admin } from 'kafkajs';
import { ensureTopics } from '../../../services/core/kafka.ts';
import type { TopicSpec } from '../../../services/core/topics.ts';

export async function ensureTopicsRetried(admin: Admin, specs: readonly TopicSpec[], attempts = 6): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await ensureTopics(admin, specs);
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

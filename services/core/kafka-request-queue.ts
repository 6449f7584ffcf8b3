// A fix for kafkajs 2.2.4 (the last release), applied once to its request queue: with nothing
// pending, `scheduleCheckPendingRequests` still re-arms a timer with a negative delay, which Node
// runs after 1 ms, forever (tulios/kafkajs#1556, fixed upstream in unreleased PRs #1667/#1768).
// Every idle connection then spins a thousand wake-ups a second: ~40 ms of CPU a second for an idle
// processor, enough to keep its HPA from scaling in, and a TimeoutNegativeWarning under Node 24.
// Nothing pending means nothing to check: push() and every response check the queue again.
import { createRequire } from 'node:module';

interface RequestQueueState {
  pending: unknown[];
}

type Schedule = (this: RequestQueueState) => void;

const requireCjs = createRequire(import.meta.url);
const { prototype } = requireCjs('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests: Schedule; idleSpinFixed?: true };
};

if (!prototype.idleSpinFixed) {
  const schedule = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function scheduleOnlyWhenPending(this: RequestQueueState) {
    if (this.pending.length > 0) schedule.call(this);
  };
  prototype.idleSpinFixed = true;
}

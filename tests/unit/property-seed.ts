// The seed of every property test (fast-check), set as fast-check's global default on import: fixed
// by default, so that `make test` judges the code and not the draw; `make fuzz` draws a fresh one
// (FUZZ_SEED=random) and prints it, and FUZZ_SEED=<n> replays that draw. fast-check names the seed
// and the shrunk counterexample of a failure in its message.
import fc from 'fast-check';

export const SEED =
  process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 20_261_130);

/** How many more runs than its own default each property makes (FUZZ_SCALE, 1 in `make test`). */
export const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1));

fc.configureGlobal({ seed: SEED });
if (process.env.FUZZ_SEED === 'random') process.stderr.write(`fast-check seed ${SEED} (replay: FUZZ_SEED=${SEED})\n`);

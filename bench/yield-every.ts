/**
 * Cost of the runner's `yieldEvery` in the iteration loop: the same toy epoch (MLP 4-8-3,
 * batch 4, cheap iterations, so loop overhead shows) with `'never'` (the baseline: no clock
 * read), `'auto'` (one clock read per iteration, a setImmediate every 125 ms) and `0` (a
 * setImmediate after every iteration). Variants run interleaved; medians of wall and CPU time.
 * Run: npx tsc -p tsconfig.json && node dist/bench/yield-every.js [--rounds 9] [--samples 2000]
 */
import 'reflect-metadata';
import os from 'node:os';
import { selectBackend } from '../src/backend/index.js';
import type { YieldEvery } from '../src/runner/event-loop-yield.js';
import { buildToyRunner } from '../src/testing/toy-runner.js';
import { interleaved, median, printTable } from './stats.js';
import { numberFlag } from './flags.js';

const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'auto');
const rounds = numberFlag('rounds', 9);
const numSamples = numberFlag('samples', 2000);
const settings: Record<string, YieldEvery> = { never: 'never', auto: 'auto', every: 0 };
const cpuMs: Record<string, number[]> = {};
const variants = Object.fromEntries(Object.entries(settings).map(([name, yieldEvery]) => {
  const toy = buildToyRunner({ yieldEvery, numSamples, valSamples: 4, workDir: false, workflow: [['train', 1]], maxEpochs: 1_000_000 });
  let epochs = 0;
  cpuMs[name] = [];
  return [name, async () => {
    const cpu = process.cpuUsage();
    toy.runner.restoreState({ epoch: epochs });
    (toy.runner as unknown as { maxEpochsValue: number }).maxEpochsValue = ++epochs;
    await toy.run();
    const used = process.cpuUsage(cpu);
    cpuMs[name]!.push((used.user + used.system) / 1000);
  }];
}));
await interleaved(variants, 1); // warm-up
for (const list of Object.values(cpuMs)) list.length = 0;
const wall = await interleaved(variants, rounds);
const iterations = Math.ceil(numSamples / 4);
const row = (name: string): [string, string] => {
  const cpu = median(cpuMs[name]!);
  return [`yieldEvery ${JSON.stringify(settings[name])}`,
    `wall ${wall[name]!.toFixed(0)} ms (${(1000 * wall[name]! / iterations).toFixed(1)} us/iter, x${(wall[name]! / wall.never!).toFixed(3)})  ` +
    `cpu ${cpu.toFixed(0)} ms (x${(cpu / median(cpuMs.never!)).toFixed(3)})`];
};
printTable(`yieldEvery: one toy epoch of ${iterations} iterations, backend ${backend.active}, median of ${rounds} interleaved rounds, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  Object.keys(settings).map(row));

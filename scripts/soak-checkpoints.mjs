#!/usr/bin/env node
// Checkpoint soak: many lineages of a small training run, each SIGKILLed 1-4 times (at a random
// checkpoint I/O point, a random iteration, or a random moment chosen by the parent), then
// auto-resumed to the end and compared, history and final bytes, with an uninterrupted run.
//   npx tsc -p tsconfig.json && node scripts/soak-checkpoints.mjs [--minutes M] [--kills N] [--seed S]
// Stops after M minutes (default 10) or N kills (default unlimited), whichever comes first;
// prints a summary line per 20 kills and the figures at the end; exits 1 on any mismatch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const h = await import(path.join(root, 'dist/test/helpers/fault-injection.js'));
const { scanCheckpoints } = await import(path.join(root, 'dist/src/training/checkpoint/find-latest-checkpoint.js'));
const { SeededRandom } = await import(path.join(root, 'dist/src/training/data/rng.js'));

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, kills: { type: 'string' }, seed: { type: 'string' } } });
const deadline = Date.now() + Number(values.minutes) * 60_000;
const maxKills = values.kills === undefined ? Infinity : Number(values.kills);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const rng = new SeededRandom(seed);
const randInt = (lo, hi) => lo + Math.floor(rng.next() * (hi - lo + 1));

/** CPU seconds of this process and the children it has waited for (Linux /proc). */
function cpuSeconds() {
  // After "pid (comm) ": state is field 3, utime stime cutime cstime are fields 14-17 (clock ticks, 100/s).
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return fields.slice(11, 15).reduce((a, b) => a + Number(b), 0) / 100;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-soak-'));
const config = path.join(dir, 'config.json');
const MAX_ITERS = 12;
fs.writeFileSync(config, JSON.stringify(h.faultConfig(MAX_ITERS)));
const startWall = Date.now();
const startCpu = cpuSeconds();
const refStart = Date.now();
const ref = h.runChild(config, path.join(dir, 'reference'), 'none');
const refMs = Date.now() - refStart;
const reference = { history: h.trainingHistory(path.join(dir, 'reference')), final: h.finalState(path.join(dir, 'reference')) };
console.log(`soak: seed ${seed}, ${ref.points.length} checkpoint I/O points per run, reference run ${refMs} ms wall; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const tally = { kills: 0, point: 0, iter: 0, timer: 0, timerMissed: 0, lineages: 0, runs: 1, mismatches: 0, brokenAfterKill: 0, byPhase: {} };
const failures = [];
while (Date.now() < deadline && tally.kills < maxKills) {
  const work = path.join(dir, `lineage-${tally.lineages}`);
  const wanted = randInt(1, 4);
  const kills = [];
  for (let k = 0; k < wanted && tally.kills < maxKills; k++) {
    const mode = rng.next();
    let r;
    if (mode < 0.5) r = h.runChild(config, work, `point:${randInt(1, ref.points.length)}`);
    else if (mode < 0.8) r = h.runChild(config, work, `iter:${randInt(1, MAX_ITERS)}`);
    else r = h.runChild(config, work, 'none', randInt(300, Math.max(400, refMs)));
    tally.runs++;
    if (!r.killed) {
      if (mode >= 0.8) tally.timerMissed++;
      break; // it reached the end before its kill point: the lineage is complete
    }
    tally.kills++;
    const kind = mode < 0.5 ? 'point' : mode < 0.8 ? 'iter' : 'timer';
    tally[kind]++;
    if (kind === 'point') {
      const phase = /\((\w+)/.exec(r.killedAt ?? '')?.[1] ?? '?';
      tally.byPhase[phase] = (tally.byPhase[phase] ?? 0) + 1;
    }
    kills.push(r.killedAt);
    const broken = scanCheckpoints(work).skipped;
    if (broken.length) {
      tally.brokenAfterKill++;
      failures.push({ work, kills: [...kills], problem: `broken checkpoint after a kill: ${JSON.stringify(broken)}` });
    }
    if (tally.kills % 20 === 0) console.log(`soak: ${tally.kills} kills, ${tally.lineages} lineages done, ${failures.length} failures, ${Math.round((Date.now() - startWall) / 1000)} s`);
  }
  const done = h.runChild(config, work, 'none');
  tally.runs++;
  tally.lineages++;
  const same = JSON.stringify(h.trainingHistory(work)) === JSON.stringify(reference.history)
    && JSON.stringify(h.finalState(work)) === JSON.stringify(reference.final) && h.leftovers(work).length === 0;
  if (!same || done.killed) {
    tally.mismatches++;
    failures.push({ work, kills, problem: 'history, final state or leftovers differ from the uninterrupted run' });
  } else {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
const wall = (Date.now() - startWall) / 1000;
const cpu = cpuSeconds() - startCpu;
console.log(JSON.stringify({ seed, ...tally, failures: failures.length, wallSeconds: Math.round(wall), cpuSeconds: Math.round(cpu), load: os.loadavg().map((l) => Number(l.toFixed(1))) }));
for (const f of failures.slice(0, 10)) console.log(`FAIL ${f.work}: ${f.problem}; kills: ${f.kills.join(' | ')}`);
if (failures.length === 0) fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = failures.length ? 1 : 0;

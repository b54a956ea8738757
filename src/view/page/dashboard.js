// The dashboard page: run cards, one chart per scalar (runs overlaid), the hook plan and profile.
// Data comes from the JSON API; each run's journal stream says when to fetch again.
import { CURVE_DATA, curveSpec } from '/curve-spec.js';

const PALETTE = curveSpec([], { xTitle: '' }).config.range.category;
/** Journal stages after which the scalars or the run state may have changed. */
const REFRESH_STAGES = new Set(['beforeRun', 'afterTrainIter', 'afterTrainEpoch', 'afterValEpoch', 'afterRun']);
const GROUPS = [
  // A val record repeats the lr and momentum of training: they are charted once, under Optimizer.
  { title: 'Validation', has: (mode, key) => mode === 'val' && !isOptim(key) },
  { title: 'Training', has: (mode, key) => mode === 'train' && !isOptim(key) && !isTiming(key) },
  { title: 'Optimizer', has: (mode, key) => mode === 'train' && isOptim(key) },
  { title: 'Timing (s)', has: (mode, key) => mode === 'train' && isTiming(key) },
];
function isOptim(key) { return /^(lr|momentum)(\.|$)|grad/i.test(key); }
function isTiming(key) { return /^(time|dataTime|data_time|memory)$/.test(key); }

const runs = [];            // summaries from /api/runs, in server order
const scalars = new Map();  // run id -> { train: {key: [[iter, value]]}, val: {...} }
const charts = new Map();   // 'mode/key' -> { element, view }
const settings = { xAxis: 'iter', smoothing: 0 };

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function refreshRun(id) {
  const [summary, series] = await Promise.all([getJson(`/api/runs/${id}`), getJson(`/api/runs/${id}/scalars`)]);
  runs[runs.findIndex((r) => r.id === id)] = summary;
  scalars.set(id, series);
}

const pending = new Set();
/** Fetches a run again at most every 300 ms, however fast its journal grows. */
function scheduleRefresh(id) {
  if (pending.has(id)) return;
  pending.add(id);
  setTimeout(async () => {
    try {
      await refreshRun(id);
      render();
    } catch (error) {
      console.warn(`hookflow: ${error.message}`); // the server went away (its run ended): keep the last view
    } finally {
      pending.delete(id);
    }
  }, 300);
}

/** TensorBoard's debiased exponential moving average. */
function smooth(values, weight) {
  if (weight === 0) return values;
  let last = 0;
  return values.map((v, i) => {
    last = last * weight + (1 - weight) * v;
    return last / (1 - weight ** (i + 1));
  });
}

function formatNumber(v) {
  if (typeof v !== 'number') return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toFixed(4)));
}

function formatDuration(s) {
  if (s === null) return '–';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
}

/** The epoch in progress (1-based, as the text log says), or the epochs done once finished. */
function epochShown(run) {
  if (run.status === 'finished' || run.iter === 0) return run.epoch;
  return run.maxEpochs ? Math.min(run.epoch + 1, run.maxEpochs) : run.epoch + 1;
}

function renderRunCard(run, index) {
  const fraction = run.maxIters ? run.iter / run.maxIters : run.status === 'finished' ? 1 : 0;
  const facts = [
    ['runner', run.runner ?? '–'],
    ['epoch', run.maxEpochs ? `${epochShown(run)} / ${run.maxEpochs}` : epochShown(run)],
    ['iteration', run.maxIters ? `${run.iter} / ${run.maxIters}` : run.iter],
    run.status === 'live' ? ['ETA', formatDuration(run.etaSeconds)] : null,
    ['last checkpoint', run.lastCheckpoint ?? '–'],
    ['best', run.best ? `${run.best.key} ${formatNumber(run.best.value)}${run.best.checkpoint ? ` (${run.best.checkpoint})` : ''}` : '–'],
    run.stopReason ? ['stop reason', run.stopReason] : null,
    ['updated', run.updatedAt ? new Date(run.updatedAt).toLocaleString() : '–'],
    ['work dir', run.workDir],
  ].filter(Boolean);
  return el('article', { className: 'card run', id: `run-${run.id}` },
    el('div', { className: 'run-head' },
      el('span', { className: 'swatch', style: `background:${PALETTE[index % PALETTE.length]}` }),
      el('h3', { textContent: run.name, title: run.workDir }),
      el('span', { className: `badge ${run.status}`, textContent: run.status })),
    el('div', { className: 'progress' }, el('div', { style: `width:${(100 * fraction).toFixed(1)}%` })),
    el('dl', { className: 'facts' }, ...facts.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: String(v) })])),
    run.problem ? el('div', { className: 'problem', textContent: run.problem }) : null);
}

/** Rows of one chart: every run's points of `mode/key`, smoothed, on the chosen x axis. */
function chartRows(mode, key) {
  return runs.flatMap((run) => {
    const points = scalars.get(run.id)?.[mode]?.[key] ?? [];
    const perEpoch = settings.xAxis === 'epoch' && run.itersPerEpoch ? run.itersPerEpoch : 1;
    const ys = smooth(points.map((p) => p[1]), settings.smoothing);
    return points.map(([iter], i) => ({ series: run.name, x: iter / perEpoch, y: ys[i] }));
  });
}

async function drawChart(chartKey, mode, key, container) {
  const rows = chartRows(mode, key);
  let chart = charts.get(chartKey);
  if (!chart) {
    const body = el('div');
    const element = el('article', { className: 'card chart' }, el('h4', { textContent: mode === 'val' ? `val ${key}` : key }), body);
    element.dataset.key = chartKey;
    container.append(element);
    const width = Math.max(260, body.clientWidth - 70); // room for the y axis labels
    const spec = curveSpec(rows, { xTitle: settings.xAxis, width, height: 190, legend: runs.length > 1, seriesNames: runs.map((r) => r.name) });
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { container: body, renderer: 'svg', hover: true });
    chart = { element, view };
    charts.set(chartKey, chart);
  } else {
    chart.view.data(CURVE_DATA, rows);
  }
  await chart.view.runAsync();
  chart.element.dataset.points = String(rows.length);
}

function renderCharts() {
  const root = document.getElementById('charts');
  const keys = new Set();
  for (const series of scalars.values()) for (const mode of ['val', 'train']) for (const key of Object.keys(series[mode])) keys.add(`${mode}/${key}`);
  for (const group of GROUPS) {
    const members = [...keys].filter((k) => group.has(...k.split(/\/(.*)/)));
    const id = `group-${group.title.split(' ')[0].toLowerCase()}`;
    let section = document.getElementById(id);
    if (members.length === 0) continue;
    if (!section) {
      section = el('section', { id }, el('h2', { textContent: group.title }), el('div', { className: 'charts' }));
      root.append(section);
    }
    for (const chartKey of members.sort()) {
      const [mode, key] = chartKey.split(/\/(.*)/);
      drawChart(chartKey, mode, key, section.querySelector('.charts')).catch((error) => console.error(error));
    }
  }
}

function renderHooks() {
  document.getElementById('hooks').replaceChildren(...runs.filter((r) => r.hookPlan || r.hookProfile).map((run) => {
    const profile = (run.hookProfile ?? []).slice().sort((a, b) => b.totalMs - a.totalMs).slice(0, 15);
    return el('article', { className: 'card' },
      el('h2', { textContent: `${run.name}: hooks` }),
      profile.length ? el('table', {},
        el('tr', {}, ...['hook', 'stage', 'calls', 'total ms', 'mean ms', 'max ms'].map((h) => el('th', { textContent: h }))),
        ...profile.map((p) => el('tr', {}, ...[p.hook, p.stage, p.calls, p.totalMs.toFixed(2), (p.totalMs / p.calls).toFixed(3), p.maxMs.toFixed(2)].map((v) => el('td', { textContent: String(v) }))))) : null,
      run.hookPlan ? el('details', {}, el('summary', { textContent: 'hook plan (hookflow hooks)' }), el('pre', { textContent: run.hookPlan })) : null);
  }));
}

function render() {
  document.getElementById('runs').replaceChildren(...runs.map(renderRunCard));
  renderCharts();
  renderHooks();
  document.title = `hookflow: ${runs.map((r) => `${r.name} (${r.status})`).join(', ')}`;
}

function resetCharts() {
  for (const { view } of charts.values()) view.finalize();
  charts.clear();
  document.getElementById('charts').replaceChildren();
  render();
}

document.getElementById('x-axis').addEventListener('change', (e) => { settings.xAxis = e.target.value; resetCharts(); });
document.getElementById('smoothing').addEventListener('input', (e) => {
  settings.smoothing = Number(e.target.value);
  document.getElementById('smoothing-value').textContent = e.target.value;
  render();
});

runs.push(...await getJson('/api/runs'));
await Promise.all(runs.map((run) => refreshRun(run.id)));
render();
for (const run of runs) {
  const events = new EventSource(`/api/runs/${run.id}/events`);
  events.onmessage = (message) => {
    if (REFRESH_STAGES.has(JSON.parse(message.data).stage)) scheduleRefresh(run.id);
  };
  // `train --dashboard` stops serving when its run ends: stop reconnecting to a finished run.
  events.onerror = () => {
    if (runs.find((r) => r.id === run.id)?.status === 'finished') events.close();
  };
}

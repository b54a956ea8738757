/**
 * Number formatting as Python prints it, so that logs match MMCV's: ties round half to even
 * on the exact binary value (`round(x, 5)`, `'%.4f' % x`), where JavaScript rounds them up.
 */

/** True when |x| lies exactly halfway between two multiples of 10^-digits. */
function isExactTie(x: number, digits: number): boolean {
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  return /^50*$/.test(tail);
}

/** `x` rounded to `digits` decimals, half to even (Python `round(x, digits)`). */
export function pyRound(x: number, digits: number): number {
  return Number(pyFixed(x, digits));
}

/** `x` with exactly `digits` decimals, half to even (Python `'%.{digits}f' % x`). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  const up = x.toFixed(digits);
  if (!isExactTie(x, digits)) return up;
  // JavaScript picked the larger magnitude; Python keeps the even last digit.
  const down = (Math.trunc(Math.abs(x) * 10 ** digits) / 10 ** digits).toFixed(digits);
  const lastDown = Number(down.at(-1));
  const chosen = lastDown % 2 === 0 ? down : Math.abs(Number(up)).toFixed(digits);
  return x < 0 ? `-${chosen}` : chosen;
}

/** `'%.{digits}e' % x` (two-digit exponent at least, as C prints it). */
export function pyExp(x: number, digits: number): string {
  if (!Number.isFinite(x)) return pyFixed(x, 0);
  const [mantissa, exponent] = x.toExponential(digits).split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** Python `str(timedelta(seconds=s))` for whole seconds: `H:MM:SS` or `D day(s), H:MM:SS`. */
export function pyTimedelta(seconds: number): string {
  const total = Math.max(0, Math.trunc(seconds));
  const days = Math.floor(total / 86400);
  const rest = total % 86400;
  const h = Math.floor(rest / 3600);
  const m = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  const clock = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return days === 0 ? clock : `${days} day${days === 1 ? '' : 's'}, ${clock}`;
}

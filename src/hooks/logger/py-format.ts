/**
 * Number formatting as Python prints it, so that logs match MMCV's: exact ties round half to
 * even on the binary value (`round(x, 5)`, `'%.4f' % x`, `'%.3e' % x`), where JavaScript's
 * toFixed/toExponential round them away from zero.
 */

/** The exact decimal digits of |x| and how many of them precede the decimal point. */
function exactDecimal(x: number): { digits: string; intLength: number } {
  const [intPart, fracPart = ''] = Math.abs(x).toFixed(100).split('.') as [string, string?];
  return { digits: intPart + fracPart, intLength: intPart.length };
}

/** Keeps `keep` leading digits of `digits`, rounding the rest half to even; may carry into a new digit. */
function roundDigits(digits: string, keep: number): string {
  const kept = digits.slice(0, keep).split('').map(Number);
  const rest = digits.slice(keep);
  const first = Number(rest[0] ?? '0');
  const tail = /[1-9]/.test(rest.slice(1));
  const up = first > 5 || (first === 5 && (tail || (kept.at(-1) ?? 0) % 2 === 1));
  if (up) {
    let i = kept.length - 1;
    while (i >= 0 && kept[i] === 9) kept[i--] = 0;
    if (i >= 0) kept[i]! += 1;
    else kept.unshift(1);
  }
  return kept.join('');
}

/**
 * Below this magnitude JavaScript's toFixed and toExponential print digits, not exponents, and
 * round the exact binary value correctly, except that exact ties go away from zero.
 */
const EXACT_LIMIT = 1e21;

/**
 * Whether `text` (toFixed or toExponential with one digit more than wanted) ends in a 5: only
 * then can the value be an exact tie at the wanted digits, which JavaScript rounds otherwise
 * than Python. The other nine in ten values take JavaScript's own (correct) rounding, several
 * times faster than the exact decimal expansion.
 */
function mayBeTie(text: string): boolean {
  const e = text.indexOf('e');
  return text.charCodeAt((e < 0 ? text.length : e) - 1) === 53; // '5'
}

/** `x` with exactly `digits` decimals, half to even (Python `'%.{digits}f' % x`). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (Math.abs(x) < EXACT_LIMIT && !mayBeTie(x.toFixed(digits + 1))) {
    // toFixed drops the sign of -0; Python keeps it.
    return Object.is(x, -0) ? `-${x.toFixed(digits)}` : x.toFixed(digits);
  }
  const { digits: all, intLength } = exactDecimal(x);
  const rounded = roundDigits(all, intLength + digits).padStart(intLength + digits, '0');
  const cut = rounded.length - digits;
  const intPart = rounded.slice(0, cut).replace(/^0+(?=\d)/, '') || '0';
  const text = digits > 0 ? `${intPart}.${rounded.slice(cut)}` : intPart;
  return x < 0 || Object.is(x, -0) ? `-${text}` : text;
}

/** `x` rounded to `digits` decimals, half to even (Python `round(x, digits)`). */
export function pyRound(x: number, digits: number): number {
  return Number(pyFixed(x, digits));
}

/** `'%.{digits}e' % x`: half to even, exponent with a sign and at least two digits. */
export function pyExp(x: number, digits: number): string {
  if (!Number.isFinite(x)) return pyFixed(x, 0);
  if (x === 0) return `${Object.is(x, -0) ? '-' : ''}${(0).toFixed(digits)}e+00`;
  if (Math.abs(x) < EXACT_LIMIT && !mayBeTie(x.toExponential(digits + 1))) return withTwoDigitExponent(x.toExponential(digits));
  const { digits: all, intLength } = exactDecimal(x);
  const first = all.search(/[1-9]/);
  let exponent = intLength - first - 1;
  let mantissa = roundDigits(all.slice(first), digits + 1);
  if (mantissa.length > digits + 1) {
    exponent += 1;
    mantissa = mantissa.slice(0, digits + 1);
  }
  const body = digits > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa;
  const sign = exponent < 0 ? '-' : '+';
  return `${x < 0 ? '-' : ''}${body}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** JavaScript's `1.234e-5` as Python prints it: `1.234e-05`. */
function withTwoDigitExponent(text: string): string {
  const e = text.indexOf('e');
  const exponent = text.slice(e + 2);
  return exponent.length >= 2 ? text : `${text.slice(0, e + 2)}0${exponent}`;
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

import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { unknownOptionsMessage } from '../core/nearest-names.js';

/** Describes one zod issue as `path: message`, naming the allowed values where zod knows them. */
function describeIssue(issue: z.core.$ZodIssue, owner: string, known: string[]): { path: string; message: string } {
  const path = [owner, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  if (issue.code === 'unrecognized_keys') return { path, message: unknownOptionsMessage(issue.keys, known) };
  return { path, message: issue.message };
}

/** The keys a schema accepts at the level where an issue was found. */
function knownKeys(schema: z.ZodType, issuePath: PropertyKey[]): string[] {
  const unwrap = (n: unknown): unknown => {
    // Reach through optional/nullable wrappers and into list elements.
    while (n && !(n instanceof z.ZodObject)) {
      if (n instanceof z.ZodArray) n = n.element;
      else if (typeof (n as { unwrap?: () => unknown }).unwrap === 'function') n = (n as { unwrap: () => unknown }).unwrap();
      else break;
    }
    return n;
  };
  let node = unwrap(schema);
  for (const key of issuePath) {
    if (typeof key === 'number') continue;
    node = node instanceof z.ZodObject ? unwrap((node.shape as Record<string, unknown>)[String(key)]) : undefined;
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/**
 * Validates options against a zod schema. Failures become a {@link ConfigError} naming
 * `Owner.option` and what is allowed; unknown options are errors with a "did you mean" hint.
 */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, owner: string): z.output<S> {
  const result = schema.safeParse(options ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => describeIssue(i, owner, i.code === 'unrecognized_keys' ? knownKeys(schema, i.path) : []));
  const [first, ...rest] = issues;
  const more = rest.map((i) => `; ${i.path}: ${i.message}`).join('');
  throw new ConfigError(first!.path, `${first!.message}${more}`);
}

/**
 * A zod error option whose message reads `must be <what>; got <input>`, for every check of a
 * schema: `z.number(mustBe('a positive integer')).int(mustBe('a positive integer'))`.
 */
export function mustBe(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `must be ${what}; got ${typeof issue.input === 'number' ? String(issue.input) : JSON.stringify(issue.input) ?? String(issue.input)}` };
}

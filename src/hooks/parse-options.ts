import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { nearestNames } from '../core/nearest-names.js';

/** Describes one zod issue as `path: message`, naming the allowed values where zod knows them. */
function describeIssue(issue: z.core.$ZodIssue, owner: string, known: string[]): { path: string; message: string } {
  const path = [owner, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  if (issue.code === 'unrecognized_keys') {
    const parts = issue.keys.map((key) => {
      const hints = nearestNames(key, known, 1);
      return hints.length ? `'${key}' (did you mean '${hints[0]}'?)` : `'${key}'`;
    });
    return { path, message: `unknown option${issue.keys.length > 1 ? 's' : ''} ${parts.join(', ')}; allowed options: ${known.join(', ')}` };
  }
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

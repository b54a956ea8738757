import fs from 'node:fs';
import path from 'node:path';
import CRC32 from 'crc-32';
import { z } from 'zod';

/** Written last into a checkpoint: the size and CRC32 of every other file, and of itself. */
export const MANIFEST_FILE = 'manifest.json';
/** `format` of a manifest.json. */
export const MANIFEST_FORMAT = 'hookflow-checkpoint-manifest';

/** Size and CRC32 of one file. */
export interface FileDigest {
  bytes: number;
  crc32: number;
}

const int = z.number().int().nonnegative();
const Digest = z.object({ bytes: int, crc32: z.number().int() }).strict();
/** Plain file names only: a manifest never reaches outside its checkpoint directory. */
export const FileDigests = z.record(z.string().regex(/^[^/\\]+$/, 'must be a plain file name').refine((n) => n !== '.' && n !== '..', 'must be a plain file name'), Digest);
const ManifestSchema = z.object({ format: z.literal(MANIFEST_FORMAT), files: FileDigests, self: Digest }).strict();

/** CRC32 of `data` as an unsigned 32-bit integer. */
export function crcOf(data: Uint8Array): number {
  return CRC32.buf(data, 0) >>> 0;
}

/** Size and CRC32 of `data`. */
export function digestOf(data: Uint8Array): FileDigest {
  return { bytes: data.byteLength, crc32: crcOf(data) };
}

// The manifest without its `self` entry, in the one layout writer and reader both produce.
function body(files: Record<string, FileDigest>): Buffer {
  return Buffer.from(JSON.stringify({ format: MANIFEST_FORMAT, files }, null, 2), 'utf8');
}

/**
 * The text of a manifest over `files`. `self` is the size and CRC32 of the manifest without
 * its `self` entry, so an edit anywhere in the manifest (a size, a CRC, a name) is detected.
 */
export function encodeManifest(files: Record<string, FileDigest>): string {
  return `${JSON.stringify({ format: MANIFEST_FORMAT, files, self: digestOf(body(files)) }, null, 2)}\n`;
}

/** Why a manifest or a file it lists does not verify: the file to blame and what is wrong. */
export interface ManifestProblem {
  file: string;
  detail: string;
}

/**
 * Parses and checks `<dir>/manifest.json` (it must be intact itself) and every file it lists
 * (present, with the recorded size and CRC32). Returns the listed names, or the first problem.
 */
export function verifyManifest(dir: string): { files: string[] } | { problem: ManifestProblem } {
  const fail = (file: string, detail: string) => ({ problem: { file, detail } });
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    return fail(MANIFEST_FILE, `${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(MANIFEST_FILE, `${MANIFEST_FILE} is malformed: ${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  }
  const { files, self } = parsed.data;
  const own = digestOf(body(files));
  if (own.bytes !== self.bytes || own.crc32 !== self.crc32) {
    return fail(MANIFEST_FILE, `${MANIFEST_FILE} is corrupt (it does not match its own size and CRC32)`);
  }
  for (const [name, entry] of Object.entries(files)) {
    const problem = checkFile(dir, name, entry, MANIFEST_FILE);
    if (problem) return { problem };
  }
  return { files: Object.keys(files) };
}

/** Checks one file against its recorded digest (`recordedIn` names the file that records it). */
export function checkFile(dir: string, name: string, entry: FileDigest, recordedIn: string): ManifestProblem | undefined {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return { file: name, detail: `${name} is missing` };
  const data = fs.readFileSync(file);
  if (data.byteLength !== entry.bytes) return { file: name, detail: `${name} has ${data.byteLength} bytes; ${recordedIn} records ${entry.bytes}` };
  if (crcOf(data) !== entry.crc32) return { file: name, detail: `${name} is corrupt (its CRC32 does not match ${recordedIn})` };
  return undefined;
}

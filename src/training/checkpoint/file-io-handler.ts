import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../backend/tfjs.js';
import { writeFileDurable } from './durable-fs.js';

/** The topology + weights manifest file of a saved model. */
export const MODEL_FILE = 'model.json';
/** The weights of a saved model, one flat little-endian buffer in manifest order. */
export const WEIGHTS_FILE = 'weights.bin';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the weights of `specs` occupy, or undefined when a dtype (string) has no fixed size. */
export function weightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const size = DTYPE_BYTES[spec.quantization?.dtype ?? spec.dtype];
    if (size === undefined) return undefined;
    total += spec.shape.reduce((a, b) => a * b, 1) * size;
  }
  return total;
}

function readBytes(file: string): ArrayBuffer {
  const b = fs.readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A tfjs IOHandler over a directory holding `model.json` (tfjs layers-model format) and
 * `weights.bin`, so Node can `model.save(fileIOHandler(dir))` and
 * `tf.loadLayersModel(fileIOHandler(dir))` without tfjs-node. Files are flushed to disk
 * when written.
 */
export function fileIOHandler(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(`fileIOHandler(${dir}): binary model topologies (graph models) are not supported`);
      }
      fs.mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      writeFileDurable(path.join(dir, WEIGHTS_FILE), new Uint8Array(data));
      const modelJson = {
        modelTopology: artifacts.modelTopology ?? null,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileDurable(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(dir, MODEL_FILE);
      if (!fs.existsSync(jsonPath)) throw new Error(`${dir}: ${MODEL_FILE} is missing`);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (error) {
        throw new Error(`${dir}: ${MODEL_FILE} is not valid JSON (${(error as Error).message})`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const buffers = manifest.flatMap((group) => group.paths.map((p) => {
          const file = path.join(dir, p);
          if (!fs.existsSync(file)) throw new Error(`${dir}: ${p} (listed in ${MODEL_FILE}) is missing`);
          return readBytes(file);
        }));
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = weightBytes(specs);
        if (expected !== undefined && expected !== data.byteLength) {
          throw new Error(`${dir}: the weight files hold ${data.byteLength} bytes, ${MODEL_FILE} describes ${expected}`);
        }
        return [specs, data];
      });
    },
  };
}

// Reads an exported LayersModel folder from disk with plain TensorFlow.js (the pure-JS package
// has no file:// loader in Node): model.json and its weight files, in manifest order.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export function layersFolder(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const data = Buffer.concat(manifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
        return [manifest.flatMap((group) => group.weights), data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)];
      });
    },
  };
}

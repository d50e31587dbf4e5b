import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

let ready: Promise<string> | undefined;

/**
 * Picks the WASM backend (its .wasm files ship inside the package, no download) and falls back to
 * the pure-JS CPU backend. Idempotent: every trainer awaits the same promise.
 */
export function initTf(): Promise<string> {
  ready ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const entry = require.resolve('@tensorflow/tfjs-backend-wasm');
      // The resolved entry sits in dist/ (or a subfolder of it); the .wasm binaries are in dist/.
      const dist = entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`) + 6);
      setWasmPaths(dist.endsWith(path.sep) ? dist : dist + path.sep);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch {
      // Fall through to the CPU backend.
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  })();
  return ready;
}

export { tf };

/**
 * Runs a bench worker (load generator, upstream, attacker) in its own thread and resolves with its
 * first message; an 'upstream' keeps running (it serves until the process ends), others end.
 */
import { Worker } from 'node:worker_threads';

export function inWorker<T>(file: URL, data: { mode: string } & Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(file, { workerData: data });
    w.once('message', (m: T) => {
      resolve(m);
      if (data.mode !== 'upstream') void w.terminate();
    });
    w.once('error', reject);
  });
}

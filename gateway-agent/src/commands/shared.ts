import { listCarObdDrives, loadCarObdDrive, type DriveSource } from '../simulator/drive.js';
import { syntheticDrive } from '../simulator/synthetic-drive.js';

/** Runs `closers` in order on SIGINT/SIGTERM, then exits. */
export function onShutdown(closers: (() => Promise<void>)[]): void {
  const shutdown = async () => {
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        console.error(err);
      }
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

export function pickDrive(csv: string | undefined, seed: string | undefined): DriveSource {
  if (csv) return loadCarObdDrive(csv);
  if (seed === undefined) {
    // Without ../shared/datasets the synthetic drive keeps `npm start` working.
    const first = listCarObdDrives()[0];
    if (first) return loadCarObdDrive(first);
  }
  return syntheticDrive(Number(seed ?? 1));
}

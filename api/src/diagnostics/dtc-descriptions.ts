// Trouble-code descriptions for the diagnostics routes. The lookup itself (bundled generic table plus
// the data set's manufacturer-specific rows) belongs to @clutch/firmware-profiles; the API only
// decides when it is loaded.
import { datasetsDir, loadDtcDescriptions, type DtcDescriptions } from '@clutch/firmware-profiles';

export type { DtcDescriptions };

/**
 * The shared data sets folder (`CLUTCH_DATASETS_DIR`, else `../shared/datasets` beside the repository).
 * Kept for app.ts and ai.test.ts; new code imports `datasetsDir` from @clutch/firmware-profiles.
 */
export const defaultDatasetsDir = (): string => datasetsDir();

/** Loads the descriptions once, on first use; without the data set the generic ones still answer. */
export function lazyDtcDescriptions(dir: string = datasetsDir()): () => Promise<DtcDescriptions> {
  let loaded: Promise<DtcDescriptions> | undefined;
  return () => (loaded ??= loadDtcDescriptions(dir));
}

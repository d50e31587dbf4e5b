import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { datasetAvailable, datasetsDir } from './locate.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('datasetsDir', () => {
  it('uses CLUTCH_DATASETS_DIR when set, resolved to an absolute path', () => {
    expect(datasetsDir({ CLUTCH_DATASETS_DIR: '/srv/datasets' })).toBe('/srv/datasets');
    expect(datasetsDir({ CLUTCH_DATASETS_DIR: 'data' })).toBe(path.resolve('data'));
  });

  it('falls back to ../shared/datasets beside the repository when unset or empty', () => {
    const beside = path.resolve(repoRoot, '..', 'shared', 'datasets');
    expect(datasetsDir({})).toBe(beside);
    expect(datasetsDir({ CLUTCH_DATASETS_DIR: '' })).toBe(beside);
    expect(datasetsDir({}, '/checkout/clutch')).toBe('/checkout/shared/datasets');
  });

  it('says whether a data set is present', () => {
    expect(datasetAvailable('carobd-toyota-etios-2014', '/nonexistent')).toBe(false);
    expect(datasetAvailable('datasets', path.join(repoRoot, 'firmware-profiles', 'src'))).toBe(true);
  });
});

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetAvailable, datasetsDir } from '@clutch/firmware-profiles';
import { isUpstreamFuelTrimCase, parseCommandId, runDecodeTests, valuesMatch } from './decode-tests.js';

const OBDB = path.join(datasetsDir(), 'obdb-signalsets');

/**
 * Expected failures: test cases recorded with OBDb's upstream fuel-trim offset (A*100/128 - 128).
 * We decode per SAE J1979 ((A-128)*100/128); see ../shared/datasets/obdb-signalsets/SOURCE.md.
 * Key: "<vehicle>/<test file> <signal>", value: how many expected values in that file differ.
 */
const UPSTREAM_FUEL_TRIM_CASES: Record<string, number> = {
  'Chevrolet-Silverado-1500/tests/test_cases/2010/commands/7E0.0114.yaml SHRTFT11': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2010/commands/7E0.0118.yaml SHRTFT21': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2021/commands/7E0.0114.yaml SHRTFT11': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2021/commands/7E0.0115.yaml SHRTFT11': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2021/commands/7E0.0118.yaml SHRTFT21': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2022/commands/7E0.0114.yaml SHRTFT11': 2,
  'Chevrolet-Silverado-1500/tests/test_cases/2022/commands/7E0.0115.yaml SHRTFT11': 2,
  'Chevrolet-Silverado-1500/tests/test_cases/2022/commands/DB33.0114.yaml SHRTFT11': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2022/commands/DB33.0115.yaml SHRTFT11': 1,
  'Chevrolet-Silverado-1500/tests/test_cases/2023/commands/DB33.0115.yaml SHRTFT11': 2,
  'Ford-F-150/tests/test_cases/2016/commands/7E0.0115.yaml SHRTFT11': 1,
  'Ford-F-150/tests/test_cases/2016/commands/7E0.0119.yaml SHRTFT22': 1,
  'Ford-F-150/tests/test_cases/2022/commands/7E0.0115.yaml SHRTFT11': 2,
  'Ford-F-150/tests/test_cases/2022/commands/7E0.0119.yaml SHRTFT22': 2,
  'Ford-F-150/tests/test_cases/2023/commands/7E0.0115.yaml SHRTFT11': 2,
  'Ford-F-150/tests/test_cases/2023/commands/7E0.0119.yaml SHRTFT22': 2,
  'Honda-Civic/tests/test_cases/2016/commands/DB33.0115.yaml SHRTFT11': 1,
  'Honda-Civic/tests/test_cases/2017/commands/DB33.0115.yaml SHRTFT11': 2,
  'Honda-Civic/tests/test_cases/2018/commands/DB33.0115.yaml SHRTFT11': 1,
  'Honda-Civic/tests/test_cases/2020/commands/DB33.0115.yaml SHRTFT11': 3,
  'Honda-Civic/tests/test_cases/2022/commands/DB33.0115.yaml SHRTFT11': 2,
  'Honda-Civic/tests/test_cases/2025/commands/DB33.0115.yaml SHRTFT11': 2,
  'Honda-Civic/tests/test_cases/2026/commands/DB33.0115.yaml SHRTFT11': 2,
  'Toyota-Camry/tests/test_cases/2008/commands/7E0.0115.yaml SHRTFT11': 2,
  'Toyota-Camry/tests/test_cases/2011/commands/7E0.0114.yaml SHRTFT11': 2,
  'Toyota-Camry/tests/test_cases/2011/commands/7E0.0115.yaml SHRTFT11': 2,
  'Toyota-Corolla/tests/test_cases/2008/commands/7E0.0115.yaml SHRTFT11': 2,
  'Toyota-Corolla/tests/test_cases/2009/commands/7E0.0115.yaml SHRTFT11': 2,
  'Toyota-Corolla/tests/test_cases/2011/commands/7E0.0115.yaml SHRTFT11': 2,
  'Toyota-Corolla/tests/test_cases/2012/commands/7E0.0115.yaml SHRTFT11': 1,
  'Toyota-Corolla/tests/test_cases/2014/commands/7E0.0115.yaml SHRTFT11': 1,
  'Volkswagen-Golf/tests/test_cases/2010/commands/7E0.0115.yaml SHRTFT11': 2,
  'Volkswagen-Golf/tests/test_cases/2012/commands/7E0.0115.yaml SHRTFT11': 5,
  'Volkswagen-Golf/tests/test_cases/2015/commands/7E0.0115.yaml SHRTFT11': 2,
  'Volkswagen-Golf/tests/test_cases/2016/commands/7E0.0115.yaml SHRTFT11': 2,
  'Volkswagen-Golf/tests/test_cases/2017/commands/7E0.0115.yaml SHRTFT11': 1,
  'Volkswagen-Golf/tests/test_cases/2018/commands/7E0.0115.yaml SHRTFT11': 4,
  'Volkswagen-Golf/tests/test_cases/2019/commands/7E0.0115.yaml SHRTFT11': 2,
  'Volkswagen-Golf/tests/test_cases/2022/commands/7E0.0115.yaml SHRTFT11': 1,
  'Volkswagen-Golf/tests/test_cases/2024/commands/7E0.0115.yaml SHRTFT11': 1,
};

describe('OBDb command ids', () => {
  it('parses header, receive address, service, PID and options', () => {
    expect(parseCommandId('750.758.2116|e=2A,fc=1')).toEqual({
      hdr: '750',
      rax: '758',
      service: '21',
      pid: '16',
      options: { e: '2A', fc: '1' },
    });
    expect(parseCommandId('DB33.0101')).toEqual({ hdr: 'DB33', service: '01', pid: '01', options: {} });
  });
  it('compares like pytest.approx with OBDb 5-decimal rounding', () => {
    expect(valuesMatch(0.784313725, 0.78431)).toBe(true);
    expect(valuesMatch(0.7845, 0.78431)).toBe(false);
    expect(valuesMatch('ON', 'ON')).toBe(true);
    expect(valuesMatch(null, 0)).toBe(false);
  });
});

describe.skipIf(!datasetAvailable('obdb-signalsets'))('decode-tests over every shared OBDb vehicle', () => {
  const vehicles = readdirSync(OBDB, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it('covers the twelve vehicles and SAE J1979', () => {
    expect(vehicles.filter((v) => v !== 'SAEJ1979')).toHaveLength(12);
  });

  it.each(vehicles.filter((v) => v !== 'SAEJ1979'))(
    '%s: every value decodes, except the documented upstream fuel-trim cases',
    (vehicle) => {
      const report = runDecodeTests(path.join(OBDB, vehicle));
      const failures: Record<string, number> = {};
      for (const f of report.failed) {
        const key = `${vehicle}/${f.file} ${f.signal}`;
        failures[key] = (failures[key] ?? 0) + 1;
        expect(isUpstreamFuelTrimCase(f), `${key}: got ${String(f.actual)}, expected ${String(f.expected)}`).toBe(true);
      }
      const expected = Object.fromEntries(
        Object.entries(UPSTREAM_FUEL_TRIM_CASES).filter(([k]) => k.startsWith(`${vehicle}/`)),
      );
      expect(failures).toEqual(expected);
      expect(report.skipped).toEqual([]);
      expect(report.passed).toBeGreaterThan(500);
    },
  );
});

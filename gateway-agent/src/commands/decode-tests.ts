import path from 'node:path';
import { parseArgs } from 'node:util';
import { isUpstreamFuelTrimCase, runDecodeTests } from '../obdb/decode-tests.js';
import { agentError } from '../errors.js';

/** `clutch-agent decode-tests <obdb-repo-dir> [--fallback <make-repo-dir>]`: exit 1 when any value fails. */
export async function decodeTestsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { fallback: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
  });
  const repo = positionals[0];
  if (!repo) throw agentError('USAGE', 'clutch-agent decode-tests <obdb-repo-dir> [--fallback <make-repo-dir>]');
  const report = runDecodeTests(
    path.resolve(repo),
    values.fallback ? { fallbackDir: path.resolve(values.fallback) } : {},
  );
  for (const f of report.failed) {
    const note = isUpstreamFuelTrimCase(f) ? ' (known upstream fuel-trim offset, see SOURCE.md)' : '';
    console.log(
      `FAIL ${f.file} ${f.signal}: got ${JSON.stringify(f.actual)}, expected ${JSON.stringify(f.expected)}${note} <- ${JSON.stringify(f.response)}`,
    );
  }
  const reasons = new Map<string, number>();
  for (const s of report.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  for (const [reason, count] of reasons) console.log(`SKIP ${count}x ${reason}`);
  if (values.verbose) for (const s of report.skipped) console.log(`  skipped ${s.file} ${s.signal ?? ''}`);
  console.log(`${report.passed} passed, ${report.failed.length} failed, ${report.skipped.length} skipped`);
  return report.failed.length === 0 ? 0 : 1;
}

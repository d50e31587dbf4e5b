import { auditCli } from './cli.js';

// The clutch-audit command (platform/bin/clutch-audit.js).
auditCli(process.argv.slice(2), process.env, process.cwd(), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);

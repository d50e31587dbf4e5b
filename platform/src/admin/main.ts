import { adminCli } from './cli.js';

// The clutch-admin command (platform/bin/clutch-admin.js).
adminCli(process.argv.slice(2), process.env, process.cwd(), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);

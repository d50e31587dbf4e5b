import { clutchCli } from './cli.js';

// The clutch command (platform/bin/clutch.js).
clutchCli(process.argv.slice(2), process.env, process.cwd(), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);

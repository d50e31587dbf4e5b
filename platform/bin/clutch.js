#!/usr/bin/env node
// npm links a workspace's bins at install, before `prepare` builds dist/: a bin pointing into dist/
// is skipped on a fresh clone. This file is in the clone, so the link is made, and it runs the build.
await import('../dist/cli/main.js');

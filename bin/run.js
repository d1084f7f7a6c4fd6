#!/usr/bin/env node
import {fileURLToPath} from 'node:url'
// First: take the caller's process state (ignored signals, open-files limit) that the
// bin/seccomp-gen launcher passed in the environment, before any child could inherit it.
await import('../dist/src/caller.js')
const {execute} = await import('@oclif/core')
// `help COMMAND`, `-h`, and CMD's own --help kept for CMD: src/cli-argv.ts.
const {commandLine} = await import('../dist/src/cli-argv.js')
const args = await commandLine(process.argv.slice(2))

// No user plugins: oclif would read ~/.local/share/seccomp-gen/package.json for them, and warn
// (EACCES) on every run whose HOME the user cannot read, e.g. `sudo -u nobody` keeping HOME=/root.
await execute({args, loadOptions: {root: fileURLToPath(import.meta.url), userPlugins: false}})

#!/usr/bin/env node
import {fileURLToPath} from 'node:url'
// First: take the caller's process state (ignored signals, open-files limit) that the
// bin/seccomp-gen launcher passed in the environment, before any child could inherit it.
await import('../dist/src/caller.js')
// Error messages are one line: oclif wraps them at the terminal's width, or at 80 columns when
// stderr is not a terminal (CI logs, pipes). Give it room there; a terminal keeps its own width,
// and help text (on stdout) keeps oclif's wrapping.
const wantsHelp = process.argv.slice(2).some((a) => a === '--help' || a === '-h' || a === 'help')
// oclif reads OCLIF_COLUMNS once, when it loads; it is removed again so CMD's environment
// (record, apply) stays exactly the caller's.
const setColumns = !process.env.OCLIF_COLUMNS && !process.stderr.isTTY && !wantsHelp
if (setColumns) process.env.OCLIF_COLUMNS = '1000'
const {execute} = await import('@oclif/core')
// `help COMMAND`, `-h`, and CMD's own --help kept for CMD: src/cli-argv.ts.
const {commandLine} = await import('../dist/src/cli-argv.js')
const args = await commandLine(process.argv.slice(2))
if (setColumns) delete process.env.OCLIF_COLUMNS

// No user plugins: oclif would read ~/.local/share/seccomp-gen/package.json for them, and warn
// (EACCES) on every run whose HOME the user cannot read, e.g. `sudo -u nobody` keeping HOME=/root.
await execute({args, loadOptions: {root: fileURLToPath(import.meta.url), userPlugins: false}})

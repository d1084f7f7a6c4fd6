/**
 * The command line as oclif should see it (bin/run.js passes it on). oclif knows help only as
 * `--help`, anywhere before `--`: `seccomp-gen help record` was "command help:record not found",
 * `-h` an unknown flag, and `record ls --help` showed record's help instead of running
 * `ls --help`. So:
 * - `help [COMMAND]` becomes `[COMMAND] --help`;
 * - `-h` among a command's own words becomes `--help`;
 * - record and apply, whose CMD follows their own words, get a `--` before CMD, so CMD's own
 *   `-h` and `--help` reach CMD (both commands split their argv at `--` first).
 */

/** A command's own words and CMD's, split the way the command itself splits them. */
type Split = (rest: string[]) => Promise<{own: string[]; cmd: string[]}>

const TAKES_CMD: Record<string, Split> = {
  record: async (rest) => {
    const {own, command} = (await import('./commands/record.js')).splitArgv(rest)
    return {own, cmd: command}
  },
  apply: async (rest) => (await import('./commands/apply.js')).default.splitArgv(rest),
}

export async function commandLine(argv: string[]): Promise<string[]> {
  if (argv[0] === 'help') return [...argv.slice(1).filter((a) => !a.startsWith('-')), '--help']
  const [id, ...rest] = argv
  if (id === undefined) return argv
  if (id === '-h') return ['--help']
  const split = TAKES_CMD[id]
  if (!split) return [id, ...ownHelp(rest)]
  const {own, cmd} = await split(rest)
  return cmd.length ? [id, ...ownHelp(own), '--', ...cmd] : [id, ...ownHelp(own)]
}

/** `-h` as `--help`, up to a `--` (after it, the words are not ours). */
function ownHelp(words: string[]): string[] {
  const end = words.indexOf('--')
  const ours = end < 0 ? words : words.slice(0, end)
  return [...ours.map((w) => (w === '-h' ? '--help' : w)), ...(end < 0 ? [] : words.slice(end))]
}

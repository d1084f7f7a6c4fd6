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

/** The two commands whose CMD follows their own words, and how many arguments of theirs come before it. */
const TAKES_CMD: Record<string, () => Promise<CommandWithCmd>> = {
  record: async () => (await import('./commands/record.js')).default,
  apply: async () => (await import('./commands/apply.js')).default,
}

interface CommandWithCmd {
  flags: Record<string, {type?: string; char?: string}>
  /** the command's own positional arguments before CMD (apply: PROFILE) */
  argsBeforeCmd: number
}

/**
 * Split a command line into the command's own words and CMD, the way strace and env do: the
 * command's flags (with their values) and its positional arguments come first; CMD starts at
 * `--`, or at the first word after those arguments that is not a flag. So `record sh -c 'exit 3'`
 * works without `--`, and CMD's own options (`ls -la`, `-o`) are never taken for ours. An
 * unknown flag before CMD stays ours, for oclif to reject.
 */
export function splitAtCommand(c: CommandWithCmd, raw: string[]): {own: string[]; cmd: string[]} {
  const valued = new Set<string>()
  for (const [name, f] of Object.entries(c.flags)) {
    if (f.type !== 'option') continue
    valued.add(`--${name}`)
    if (f.char) valued.add(`-${f.char}`)
  }
  let args = 0
  for (let i = 0; i < raw.length; i++) {
    const w = raw[i]!
    if (w === '--') return {own: raw.slice(0, i), cmd: raw.slice(i + 1)}
    if (w.startsWith('-') && w !== '-') {
      // --flag value and -o FILE take the next word; --flag=value and -oFILE are one
      if (valued.has(w)) i++
      continue
    }
    if (args === c.argsBeforeCmd) return {own: raw.slice(0, i), cmd: raw.slice(i)}
    args++
  }
  return {own: raw, cmd: []}
}

export async function commandLine(argv: string[]): Promise<string[]> {
  if (argv[0] === 'help') return [...argv.slice(1).filter((a) => !a.startsWith('-')), '--help']
  const [id, ...rest] = argv
  if (id === undefined) return argv
  if (id === '-h') return ['--help']
  const load = TAKES_CMD[id]
  if (!load) return [id, ...ownHelp(rest)]
  const {own, cmd} = splitAtCommand(await load(), rest)
  return cmd.length ? [id, ...ownHelp(own), '--', ...cmd] : [id, ...ownHelp(own)]
}

/** `-h` as `--help`, up to a `--` (after it, the words are not ours). */
function ownHelp(words: string[]): string[] {
  const end = words.indexOf('--')
  const ours = end < 0 ? words : words.slice(0, end)
  return [...ours.map((w) => (w === '-h' ? '--help' : w)), ...(end < 0 ? [] : words.slice(end))]
}

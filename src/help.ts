import {CommandHelp as OclifCommandHelp, Help as OclifHelp, type Command} from '@oclif/core'

/**
 * A command that takes CMD after its arguments is not strict, and oclif then lists every
 * argument as variadic (`PROFILE...` for apply's one profile). Here an argument keeps the `...`
 * only where the command's own usage lines show it repeated (`INPUT…`), or when the command has
 * no usage lines of its own (oclif's generated usage says the same as its list).
 */
class CommandHelp extends OclifCommandHelp {
  protected args(args: Command.Arg.Any[]): [string, string | undefined][] | undefined {
    const rows = super.args(args)
    const usage = [this.command.usage ?? []].flat().join('\n')
    if (!rows || this.command.strict !== false || usage === '') return rows
    return rows.map(([name, description], i) => {
      const arg = args[i]
      const repeated = arg.multiple || new RegExp(`\\b${arg.name.toUpperCase()}(…|\\.\\.\\.)`).test(usage)
      return [repeated ? name : name.replace('...', ''), description]
    })
  }
}

/**
 * oclif's help with the summary at the top of a command's help wrapped like the rest: oclif
 * prints it as one unwrapped line (the agent's summary alone is 130 columns), and so the root
 * help's first line. The root help's command list keeps oclif's own summaries, which its table wraps in
 * its column.
 */
export default class Help extends OclifHelp {
  protected CommandHelpClass = CommandHelp
  private inCommandHelp = false

  async showCommandHelp(command: Command.Loadable): Promise<void> {
    this.inCommandHelp = true
    try {
      await super.showCommandHelp(command)
    } finally {
      this.inCommandHelp = false
    }
  }

  /** The root help starts with package.json's description, also one unwrapped line in oclif. */
  formatRoot(): string {
    const [first, ...rest] = super.formatRoot().split('\n')
    return [this.wrap(first), ...rest].join('\n')
  }

  protected summary(c: Command.Loadable): string | undefined {
    const summary = super.summary(c)
    return summary && this.inCommandHelp ? this.wrap(summary) : summary
  }
}

import {Help as OclifHelp, type Command} from '@oclif/core'

/**
 * oclif's help with the summary at the top of a command's help wrapped like the rest: oclif
 * prints it as one unwrapped line (the agent's was 130 columns wide), and so the root help's
 * first line. The root help's command list keeps oclif's own summaries, which its table wraps in
 * its column.
 */
export default class Help extends OclifHelp {
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

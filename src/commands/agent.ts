import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {prose, SeccompGenCommand} from '../command.js'
import {Agent} from '../enforce/agent.js'

export default class AgentCommand extends SeccompGenCommand {
  static summary = 'Serve the seccomp notifications of containers (runtime-spec listenerPath): report, and answer as the profile would or let through.'

  static description = prose`Listens on the unix socket PATH for container runtimes (runc 1.1 or later, crun) whose bundle
names PATH as linux.seccomp.listenerPath: write such a bundle with
\`seccomp-gen apply PROFILE --bundle DIR --complain|--explain --listener PATH\`. For each container
the runtime hands over its seccomp listener and state; each call the profile denies then comes
here: --complain lets it run, --explain gives it the profile's own answer (the profile travels in
listenerMetadata); without either, each container's own mode. One line per distinct call, with
the container's id and bundle, on standard output; status lines on standard error (--json:
all on standard output, one JSON object a line, status lines as {"type":"agent"}). When a
container ends, --observe-dir DIR gets DIR/ID.json, an observation for build. An existing socket
nobody listens on is replaced; a path that is not a socket is refused. Runs until SIGINT or
SIGTERM, then prints the summary. Needs root and Linux 5.8.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --socket /run/seccomp-gen.sock --observe-dir gaps/', description: 'Serve containers as their bundles say; keep what they were denied.'},
    {command: '<%= config.bin %> apply app.json --bundle ./bundle --complain --listener /run/seccomp-gen.sock && runc run -b ./bundle app', description: 'A container for it (another shell).'},
  ]

  static enableJsonFlag = true

  static usage = ['<%= command.id %> --socket PATH [--complain|--explain] [--observe-dir DIR] [--json]']

  static flags = {
    socket: Flags.string({description: 'the unix socket to listen on (linux.seccomp.listenerPath of the bundles)', helpValue: 'PATH', required: true}),
    complain: Flags.boolean({description: "let every container's denied calls run, and report them", exclusive: ['explain']}),
    explain: Flags.boolean({description: "give every container's denied calls the profile's answer, and report them", exclusive: ['complain']}),
    'observe-dir': Flags.string({description: 'write one observation per container (ID.json) when it ends', helpValue: 'DIR'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(AgentCommand)
    const json = this.jsonEnabled()
    const log = json
      ? (message: string) => process.stdout.write(JSON.stringify({type: 'agent', message}) + '\n')
      : (message: string) => process.stderr.write(`seccomp-gen agent: ${message}\n`)
    const mode = flags.complain ? 'complain' : flags.explain ? 'explain' : undefined
    const agent = await Agent.open({socket: flags.socket, mode, observeDir: flags['observe-dir'], format: json ? 'json' : 'text', out: process.stdout, log})
    const onSignal = () => agent.stop()
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal)
    // the absolute path: what `apply --listener` takes from any working directory
    log(`listening on ${resolve(flags.socket)} (${mode ?? "each container's own mode"}); SIGINT or SIGTERM ends`)
    try {
      await agent.run()
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    }
    process.stdout.write(agent.report.summary('reported'))
    if (!json) log(`${agent.containersSeen} container(s) served`)
  }
}

/**
 * The command line a person meets: missing arguments, help, errors in words, a file of the
 * wrong kind, "-" for standard input, record's stdout and terminal, apply's capability-gated
 * rules, unknown --caps and empty --runtime, an unreadable HOME, and the README's exit codes.
 * Every case runs the real CLI on real files (and real processes, terminals and users).
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {EXIT} from '../../src/errors.js'
import {cliError, cliPath, repoRoot, runCli, type CliResult} from '../helpers/cli.js'
import {engineMissing, ENGINES} from '../helpers/engines.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-cmdline-'))
const p = (n: string) => join(tmp, n)
const fixture = (n: string) => join(repoRoot, 'fixtures', n)
const observation = fixture('busybox-sh.obs.json')
const straceLog = fixture('busybox-sh.strace')
let profile = ''

/** The one error line of a failed run (and that it was one line, nothing else on stderr). */
function oneLine(r: CliResult): string {
  expect(r.stderrLines, r.stderr).toHaveLength(1)
  const e = cliError(r)
  expect(e, r.stderr).toBeDefined()
  return e!.message
}

const hasScript = spawnSync('script', ['--version']).status === 0
if (!hasScript) console.warn('[skip] status-line tests on a terminal: script (util-linux) not found')

/** Run `command` (a shell line) on a fresh pseudo-terminal (util-linux script); its transcript. */
function onTerminal(command: string, opts: {cwd?: string; input?: string} = {}): {status: number | null; out: string} {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: opts.cwd ?? tmp, encoding: 'utf8', input: opts.input, timeout: 60_000})
  return {status: r.status, out: r.stdout}
}

/** The seccomp-gen command (the bin/seccomp-gen launcher), for shell lines. */
const cli = cliPath

beforeAll(async () => {
  profile = p('busybox.json')
  const r = await runCli(['build', '-q', '-o', profile, observation])
  expect(r.status, r.stderr).toBe(0)
})

describe('missing arguments, bad flags and help', () => {
  it.each([
    ['build', 'INPUT'],
    ['apply', 'PROFILE'],
    ['validate', 'PROFILE'],
    ['export', 'PROFILE'],
  ])('%s with no arguments: one line naming %s, exit 2, no usage dump', async (cmd, arg) => {
    const r = await runCli([cmd])
    expect(r.status).toBe(EXIT.USAGE)
    expect(oneLine(r)).toBe(`missing ${arg} (see: seccomp-gen ${cmd} --help)`)
    expect(r.stdout).toBe('')
  })

  it('an unknown flag, a bad option value, a value that is not a number: one line each, exit 2', async () => {
    const unknown = await runCli(['build', '--nope', observation])
    expect(unknown.status).toBe(EXIT.USAGE)
    expect(oneLine(unknown)).toMatch(/^Nonexistent flag: --nope \(see: seccomp-gen build --help\)$/)
    const bad = await runCli(['build', '--format', 'yaml', observation])
    expect(bad.status).toBe(EXIT.USAGE)
    expect(oneLine(bad)).toMatch(/--format=yaml to be one of: docker, oci/)
    const notInt = await runCli(['record', '--pid', 'abc'])
    expect(notInt.status).toBe(EXIT.USAGE)
    expect(oneLine(notInt)).toBe('--pid: Expected an integer but received: abc (see: seccomp-gen record --help)')
  })

  it('--json: a missing argument is one small JSON error with code USAGE, exit 2', async () => {
    const r = await runCli(['build', '--json'])
    expect(r.status).toBe(EXIT.USAGE)
    const err = JSON.parse(r.stdout).error
    expect(err).toEqual({code: 'USAGE', message: 'missing INPUT (see: seccomp-gen build --help)', name: 'Error', oclif: {exit: 2}})
  })

  it('--json: an error is one line of JSON, as the JSON lines of agent and explain are read', async () => {
    const notSocket = p('not-a-socket')
    writeFileSync(notSocket, 'keep\n')
    for (const args of [['agent', '--json', '--socket', notSocket], ['explain', '--json', p('no-such.log')], ['build', '--json']]) {
      const r = await runCli(args)
      expect(r.status, args.join(' ')).not.toBe(0)
      const lines = r.stdout.trim().split('\n')
      expect(lines, args.join(' ')).toHaveLength(1)
      expect(JSON.parse(lines[0]).error.message).toBeTruthy()
    }
  })

  it('`help record`, `record -h` and `-h` show help', async () => {
    for (const args of [['help', 'record'], ['record', '-h']]) {
      const r = await runCli(args)
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/USAGE\s+\$ seccomp-gen record \[-o FILE\]/)
    }
    const top = await runCli(['-h'])
    expect(top.status).toBe(0)
    expect(top.stdout).toMatch(/COMMANDS[\s\S]*apply[\s\S]*record/)
  })

  it("apply's usage shows PROFILE once, CMD, and no empty alternatives", async () => {
    const r = await runCli(['apply', '--help'])
    expect(r.status).toBe(0)
    const usage = r.stdout.slice(r.stdout.indexOf('USAGE'), r.stdout.indexOf('ARGUMENTS')).replace(/\s+/g, ' ')
    expect(usage).toContain('$ seccomp-gen apply PROFILE [--caps CAP,...]')
    expect(usage).toContain('[--] CMD [ARGS...]')
    expect(usage).toContain('$ seccomp-gen apply PROFILE --bundle DIR [--complain|--explain --listener PATH] [--dry-run]')
    expect(usage).not.toContain('PROFILE...')
    expect(usage).not.toMatch(/\| \]|\[\s*\]/)
  })

  it("CMD's own -h and --help go to CMD (record and apply), not to seccomp-gen's help", async () => {
    const rec = await runCli(['record', '-q', '-o', p('echo.obs.json'), '/bin/busybox', 'echo', '-h', '--help'])
    expect(rec.status, rec.stderr).toBe(0)
    expect(rec.stdout).toBe('-h --help\n')
    const app = await runCli(['apply', profile, '/bin/busybox', 'echo', '--help'])
    expect(app.status, app.stderr).toBe(0)
    expect(app.stdout).toBe('--help\n')
  })
})

describe('errors say what happened in words', () => {
  it.each([
    [['build', '/nonexistent/in.obs.json'], '/nonexistent/in.obs.json: cannot read input: no such file or directory'],
    [['apply', '/nonexistent/p.json', 'true'], '/nonexistent/p.json: cannot read profile: no such file or directory'],
    [['export', '/nonexistent/p.json', '--pfc'], '/nonexistent/p.json: cannot read profile: no such file or directory'],
    [['build', '/'], '/: cannot read input: is a directory'],
  ])('%j', async (args, message) => {
    const r = await runCli(args)
    expect(r.status).toBe(EXIT.FAILURE)
    const line = oneLine(r)
    expect(line).toBe(message)
    expect(line).not.toMatch(/\bE[A-Z]{3,}\b/)
  })

  it('validate reports an unreadable file in words', async () => {
    const r = await runCli(['validate', '/nonexistent/p.json'])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('/nonexistent/p.json: error /: cannot read: no such file or directory')
  })
})

describe('a file of the wrong kind is named as such', () => {
  it('build given a profile', async () => {
    const r = await runCli(['build', profile])
    expect(r.status).not.toBe(0)
    expect(oneLine(r)).toBe(`${profile} is a seccomp profile, not an observation file (from seccomp-gen record) or an strace log`)
  })

  it.each([
    ['apply', observation, 'an observation file (from seccomp-gen record)', ['true']],
    ['apply', straceLog, 'an strace log', ['true']],
    ['export', observation, 'an observation file (from seccomp-gen record)', ['--pfc']],
  ])('%s given %s', async (cmd, file, kind, rest) => {
    const r = await runCli([cmd, file, ...rest])
    expect(r.status).toBe(EXIT.INVALID_PROFILE)
    expect(oneLine(r)).toBe(`${file} is ${kind}, not a seccomp profile`)
  })

  it('build and check given a Kubernetes SeccompProfile (YAML) as the recording', async () => {
    const yaml = p('busybox.yaml')
    expect((await runCli(['build', '-q', '--format', 'k8s', '--name', 'busybox', '-o', yaml, observation])).status).toBe(0)
    for (const args of [['build', yaml], ['check', profile, yaml]]) {
      const r = await runCli(args)
      expect(r.status).not.toBe(0)
      expect(oneLine(r)).toBe(`${yaml} is a seccomp profile, not an observation file (from seccomp-gen record) or an strace log`)
    }
  })

  it('apply --counts given a profile', async () => {
    const r = await runCli(['apply', profile, '--counts', profile, 'true'])
    expect(r.status).not.toBe(0)
    expect(oneLine(r)).toBe(`${profile} is a seccomp profile, not an observation file (from seccomp-gen record)`)
  })

  it('validate given an observation and an strace log: one error each, saying what they are', async () => {
    const r = await runCli(['validate', observation, straceLog])
    expect(r.status).toBe(1)
    expect(r.stderrLines).toEqual([
      `${observation}: error /: this file is an observation file (from seccomp-gen record), not a seccomp profile or an OCI bundle's config.json`,
      `${straceLog}: error /: this file is an strace log, not a seccomp profile or an OCI bundle's config.json`,
    ])
  })
})

describe('an observation from a newer seccomp-gen', () => {
  // Every command that reads observations says to upgrade, in one line, and writes nothing.
  it.each([
    ['build', (f: string) => ['build', '-o', p('from-v2.json'), f], 1],
    ['check', (f: string) => ['check', profile, f], 2],
    ['validate --observation', (f: string) => ['validate', profile, '--observation', f], 1],
    ['apply --counts', (f: string) => ['apply', profile, '--counts', f, 'true'], 1],
  ] as Array<[string, (f: string) => string[], number]>)('%s', async (_cmd, args, status) => {
    const obs = JSON.parse(readFileSync(observation, 'utf8'))
    obs.version = 2
    writeFileSync(p('v2.obs.json'), JSON.stringify(obs))
    const r = await runCli(args(p('v2.obs.json')))
    expect(r.status).toBe(status)
    expect(oneLine(r)).toBe(`${p('v2.obs.json')}: observation version 2 is newer than this seccomp-gen reads (1); upgrade seccomp-gen`)
    expect(existsSync(p('from-v2.json'))).toBe(false)
  })
})

describe('"-" is standard input', () => {
  it('build - reads an observation or an strace log from stdin: the same profile as from the file', async () => {
    for (const file of [observation, straceLog]) {
      const fromFile = await runCli(['build', '--json', file])
      const fromStdin = await runCli(['build', '--json', '-'], {input: readFileSync(file)})
      expect(fromStdin.status, fromStdin.stderr).toBe(0)
      const a = JSON.parse(fromFile.stdout)
      const b = JSON.parse(fromStdin.stdout)
      expect(b.profile).toBe(a.profile)
      expect(b.inputs).toEqual([{...a.inputs[0], file: '-'}])
    }
  })

  it('build - given a profile on stdin says so, naming "-"; "-" twice is a usage error', async () => {
    const r = await runCli(['build', '-'], {input: readFileSync(profile)})
    expect(oneLine(r)).toBe('- is a seccomp profile, not an observation file (from seccomp-gen record) or an strace log')
    const twice = await runCli(['build', '-', '-'], {input: ''})
    expect(twice.status).toBe(EXIT.USAGE)
    expect(oneLine(twice)).toBe('standard input (-) can be read only once')
  })

  it('validate - checks a profile from stdin', async () => {
    const r = await runCli(['validate', '-'], {input: readFileSync(profile)})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toBe('-: valid docker profile\n')
  })

  // each engine starts CMD its own way: both must move CMD's stdout off ours
  it.each(ENGINES.filter((e) => !engineMissing(e)))("record --engine %s -o -: stdout is exactly the observation; CMD's own stdout goes to stderr; it pipes into build -", async (engine) => {
    const r = await runCli(['record', '--engine', engine, '-o', '-', '--', 'sh', '-c', 'echo hello from cmd; echo to-stderr >&2'])
    expect(r.status, r.stderr).toBe(0)
    const obs = JSON.parse(r.stdout)
    expect(obs.schema).toBe('seccomp-gen/observation')
    expect(r.stderrLines.slice(0, 2).sort()).toEqual(['hello from cmd', 'to-stderr'])
    const built = await runCli(['build', '-q', '-'], {input: r.stdout})
    expect(built.status, built.stderr).toBe(0)
    expect(JSON.parse(built.stdout).syscalls.length).toBeGreaterThan(0)
  })
})

for (const engine of ENGINES) describe.skipIf(!hasScript || engineMissing(engine) !== undefined)(`record's status line never draws over CMD's terminal (--engine ${engine})`, () => {
  it('run mode on a terminal: a `read -p` prompt and the typed answer stay intact; only the final summary', () => {
    const cmd = `${cli} record --engine ${engine} -o rp.obs.json -- sh -c 'sleep 0.6; read -p "name? " x; echo "got $x"'`
    const {status, out} = onTerminal(cmd, {input: 'bob\n'})
    expect(status, out).toBe(0)
    expect(out).not.toContain('\x1b[K')
    expect(out).toMatch(/name\? /)
    expect(out).toMatch(/got bob/)
    expect(out).toMatch(/\nseccomp-gen: \d+ syscalls, \d+ distinct, \d+ process(es)?; wrote rp\.obs\.json\r?\n/)
  })

  let target: ChildProcess | undefined
  afterAll(() => {
    target?.kill('SIGKILL')
  })

  it('--pid of a process that is not on this terminal: the live line is drawn', async () => {
    target = spawn('sh', ['-c', 'while :; do sleep 0.05; done'], {stdio: 'ignore'})
    await new Promise((r) => setTimeout(r, 100))
    const {out} = onTerminal(`timeout -s INT 2 ${cli} record --engine ${engine} --pid ${target.pid} -o pid.obs.json`)
    expect(out).toMatch(/\r\x1b\[Kseccomp-gen: \d+ syscalls, \d+ distinct, \d+ process/)
    expect(out).toMatch(/; wrote pid\.obs\.json\r?\n/)
  })
})

describe.skipIf(!hasScript)('where record may draw its status line', () => {
  it('the decision, on real descriptors: a terminal of our own only when no other fd is that terminal', () => {
    // stdout stays the terminal (that is how the answer comes back); stdin is /dev/null or the terminal
    const probe = (stdin: string, others: string) =>
      onTerminal(`${process.execPath} --input-type=module -e "import {terminalOfOurOwn} from '${join(repoRoot, 'dist/src/terminal.js')}'; process.stdout.write(String(terminalOfOurOwn(2, [${others}])))" ${stdin}`).out.trim()
    expect(probe('</dev/null', "'/proc/self/fd/0'")).toBe('true')
    expect(probe('', "'/proc/self/fd/0'")).toBe('false')
    expect(probe('</dev/null', "'/proc/self/fd/0', '/proc/self/fd/1'")).toBe('false')
    expect(probe('</dev/null', "'/proc/self/fd/0', '/nonexistent'")).toBe('false') // cannot look: counts as shared
  })
})

describe('apply: rules closed for want of a capability', () => {
  it('a recorded unshare under the default caps: one warning naming it and the --caps that opens it', async () => {
    const rec = await runCli(['record', '-q', '-o', p('u.obs.json'), '--', 'unshare', '-U', '/bin/true'])
    expect(rec.status, rec.stderr).toBe(0)
    const built = await runCli(['build', '-q', '-o', p('u.json'), p('u.obs.json')])
    expect(built.status, built.stderr).toBe(0)
    const denied = await runCli(['apply', p('u.json'), '--', 'unshare', '-U', '/bin/true'])
    expect(denied.status).not.toBe(0) // unshare(CLONE_NEWUSER) got EPERM
    const warnings = denied.stderrLines.filter((l) => l.includes('warning'))
    expect(warnings, denied.stderr).toHaveLength(1)
    const m = /^seccomp-gen: warning: denied in this run for want of a capability: unshare \(CAP_SYS_ADMIN\); --caps (\S+) would allow it$/.exec(warnings[0]!)
    expect(m, warnings[0]).not.toBeNull()
    const caps = m![1]!
    expect(caps.split(',')).toEqual(expect.arrayContaining(['CAP_SYS_ADMIN', 'CAP_CHOWN', 'CAP_NET_RAW']))
    const opened = await runCli(['apply', p('u.json'), '--caps', caps, '--', 'unshare', '-U', '/bin/true'])
    expect(opened.status, opened.stderr).toBe(0)
    expect(opened.stderr).not.toContain('warning')
  })
})

describe('unknown --caps and empty --runtime are refused', () => {
  it.each([
    [['apply', '--caps', 'CAP_FOO', 'PROFILE', 'true'], 'CAP_FOO'],
    [['export', 'PROFILE', '--pfc', '--caps', 'net_admin,cap_nope'], 'CAP_NOPE'],
    [['build', '--format', 'oci', '--caps', 'CAP_SYS_ADMINN', observation], 'CAP_SYS_ADMINN'],
  ])('%j', async (args, bad) => {
    const r = await runCli(args.map((a) => (a === 'PROFILE' ? profile : a)))
    expect(r.status).toBe(EXIT.USAGE)
    expect(oneLine(r)).toMatch(new RegExp(`^--caps: unknown capability ${bad} `))
    expect(r.stdout).toBe('')
  })

  it('lower case and without CAP_ is fine', async () => {
    const r = await runCli(['export', profile, '--pfc', '--caps', 'net_admin,CAP_sys_chroot'])
    expect(r.status, r.stderr).toBe(0)
  })

  it("--runtime ''", async () => {
    const r = await runCli(['build', '--runtime', '', '-o', p('never.json'), observation])
    expect(r.status).toBe(EXIT.USAGE)
    expect(oneLine(r)).toMatch(/^--runtime is empty/)
    expect(() => readFileSync(p('never.json'))).toThrow()
  })
})

describe.skipIf(process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0)('a user whose HOME is not readable', () => {
  it('gets no oclif warning about ~/.local/share/seccomp-gen/package.json', () => {
    const home = mkdtempSync(join(tmpdir(), 'sg-home-')) // root's, 0700: nobody cannot look inside
    chmodSync(home, 0o700)
    const readable = mkdtempSync(join(tmpdir(), 'sg-nobody-'))
    chmodSync(readable, 0o755)
    const file = join(readable, 'p.json')
    writeFileSync(file, readFileSync(profile))
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cliPath, 'validate', file], {
      cwd: readable, encoding: 'utf8', env: {...process.env, HOME: home},
    })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toBe(`${file}: valid docker profile\n`)
    expect(r.stderr).toBe('')
  })
})

describe('README: exit codes', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 1))

  it('has one table listing every code in src/errors.ts EXIT and those of CMD (126, 127, 128+N)', () => {
    expect(section).toMatch(/^## Exit codes/)
    const codes = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1])
    for (const c of Object.values(EXIT)) expect(codes).toContain(String(c))
    expect(codes).toEqual(expect.arrayContaining(['126', '127', '128+N']))
  })

  it('an unreadable profile exits as the table says (1: a file could not be read)', async () => {
    expect(section).toMatch(/^\| `1` \|.*cannot be read/m)
    const r = await runCli(['apply', '/nonexistent/p.json', 'true'])
    expect(r.status).toBe(1)
    const invalid = await runCli(['apply', observation, 'true'])
    expect(invalid.status).toBe(3)
    expect(section).toMatch(/^\| `3` \|.*invalid/m)
  })
})

describe('outputs on our stdout, and errors that stay one line', () => {
  it('build -o - writes the profile to stdout (no file named "-")', async () => {
    const r = await runCli(['build', '-q', '-o', '-', observation], {cwd: tmp})
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout).defaultAction).toBe('SCMP_ACT_ERRNO')
    expect(spawnSync('test', ['-e', p('-')]).status).not.toBe(0)
  })

  it.each(ENGINES.filter((e) => !engineMissing(e)))("record --engine %s -o /dev/stdout: CMD's own stdout goes to stderr, the JSON stream stays clean", async (engine) => {
    const r = await runCli(['record', '--engine', engine, '-q', '-o', '/dev/stdout', '--', 'echo', 'FROM-CMD'], {cwd: tmp})
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout).execs).toContain('/usr/bin/echo')
    expect(r.stderr).toContain('FROM-CMD')
  })

  it('a long error is one line even when a word of CMD is "help"', async () => {
    const deep = p(`${'d'.repeat(120)}/x.json`)
    const r = await runCli(['record', '-o', deep, '--', 'echo', 'help'], {cwd: tmp})
    expect(r.status).toBe(1)
    expect(r.stderrLines).toEqual([` ›   Error: cannot write ${deep}: no such file or directory`])
  })

  it('apply: an execve that fails under a tight profile is said in words, with the shell\'s 127', async () => {
    const profile = p('tight.json')
    const b = await runCli(['build', '-q', '--runtime', 'none', '-o', profile, observation], {cwd: tmp})
    expect(b.status).toBe(0)
    const script = p('bad-interpreter')
    writeFileSync(script, '#!/nonexistent/interpreter\n')
    chmodSync(script, 0o755)
    const r = await runCli(['apply', profile, '--', script], {cwd: tmp})
    expect(r.status).toBe(127)
    expect(r.stderrLines).toEqual([` ›   Error: cannot execute ${script}: no such file or directory`])
  })
})

describe('apply: a CMD that cannot run is the only line', () => {
  it('no capability warning before "command not found"', async () => {
    const profile = p('gated.json')
    writeFileSync(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        {names: ['execve', 'exit_group'], action: 'SCMP_ACT_ALLOW'},
        {names: ['unshare'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMIN']}},
      ],
    }))
    // the warning is there when CMD exists
    const ok = await runCli(['apply', profile, '--', 'true'], {cwd: tmp})
    expect(ok.stderr).toMatch(/warning: denied in this run for want of a capability: unshare/)
    const r = await runCli(['apply', profile, '--', 'no-such-command-sg'], {cwd: tmp})
    expect(r.status).toBe(127)
    expect(r.stderrLines).toEqual([' ›   Error: no-such-command-sg: command not found'])
  })
})

describe('apply: no capability warning for what a built profile answers by design', () => {
  it("clone3 (ENOSYS until CAP_SYS_ADMIN opens it) is not reported as closed", async () => {
    const profile = p('built-for-caps.json')
    // a recording that made clone3 calls (python's threads)
    expect((await runCli(['build', '-q', '-o', profile, fixture('http-server.obs.json')], {cwd: tmp})).status).toBe(0)
    const prof = JSON.parse(readFileSync(profile, 'utf8')) as {syscalls: Array<{names: string[]; includes?: {caps?: string[]}}>}
    // the profile does gate clone3 on CAP_SYS_ADMIN (so the check below is about the answer rule)
    expect(prof.syscalls.some((r) => r.names.includes('clone3') && r.includes?.caps?.includes('CAP_SYS_ADMIN'))).toBe(true)
    const r = await runCli(['apply', profile, '--', 'true'], {cwd: tmp})
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
  })
})

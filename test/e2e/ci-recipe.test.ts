/**
 * The CI recipe of examples/ci/ end to end: the shell script (seccomp-ci.sh) runs the example
 * project's test suite under the real `seccomp-gen record`, builds its profile and checks the
 * recording against the committed profile, on a temp copy of the example project (the
 * repository's files are never written: afterAll compares them with what they were). The
 * GitHub Actions workflow is checked against the Actions workflow schema (test/anchors).
 */
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join, normalize, relative} from 'node:path'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {anchor} from '../helpers/anchors.js'
import {repoRoot} from '../helpers/cli.js'
import {engineMissing} from '../helpers/engines.js'

const ci = join(repoRoot, 'examples', 'ci')
const script = join(ci, 'seccomp-ci.sh')
const example = join(ci, 'example')
const workflowFile = join(ci, 'github-actions.yml')

interface Workflow {
  on: Record<string, unknown>
  jobs: Record<string, {
    'runs-on': string
    defaults?: {run?: {'working-directory'?: string}}
    env?: Record<string, string>
    steps: {name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>}[]
  }>
}
const workflow = parse(readFileSync(workflowFile, 'utf8')) as Workflow
const job = Object.values(workflow.jobs)[0]

/** The example project's files and their bytes, to prove the tests leave them as they were. */
function snapshot(): Record<string, string> {
  return Object.fromEntries(readdirSync(example).map((f) => [f, readFileSync(join(example, f), 'utf8')]))
}

let root: string
/** PATH without seccomp-gen (the tests say which one the script finds): a directory of PATH
 * that holds one (npm install -g puts it beside node, /usr/bin here) is replaced by a copy of
 * its links less that one. */
let barePath: string
let before: Record<string, string>
let n = 0

/** A fresh copy of the example project (without a seccomp-out/ a run in place may have left). */
function project(): string {
  const dir = join(root, `p${++n}`)
  cpSync(example, dir, {recursive: true, filter: (src) => !src.endsWith('/seccomp-out')})
  return dir
}

interface Run {status: number | null; stdout: string; stderr: string}

/** seccomp-ci.sh in `cwd`, with the workflow's settings, PATH as barePath, plus `env`. */
function recipe(cwd: string, env: Record<string, string> = {}): Run {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SECCOMP_') && k !== 'GITHUB_STEP_SUMMARY'))
  const r = spawnSync('sh', [script], {cwd, encoding: 'utf8', timeout: 300_000, env: {...base, PATH: barePath, ...job.env, ...env}})
  if (r.error) throw r.error
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

const show = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

/** Every syscall name a profile's rules name. */
function names(profileFile: string): Set<string> {
  const p = JSON.parse(readFileSync(profileFile, 'utf8')) as {syscalls: {names?: string[]; name?: string}[]}
  return new Set(p.syscalls.flatMap((r) => r.names ?? (r.name ? [r.name] : [])))
}

/** greet.sh learns to make its output's directory: a syscall the committed profile lacks. */
function addMkdir(dir: string): void {
  const file = join(dir, 'greet.sh')
  const text = readFileSync(file, 'utf8')
  const changed = text.replace(/^printf /m, 'mkdir -p "$(dirname -- "$2")"\nprintf ')
  expect(changed).not.toBe(text)
  writeFileSync(file, changed)
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'seccomp-gen-ci-recipe-'))
  before = snapshot()
  barePath = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d, i) => {
    if (!existsSync(join(d, 'seccomp-gen'))) return d
    const shadow = join(root, `path${i}`)
    mkdirSync(shadow)
    for (const e of readdirSync(d)) if (e !== 'seccomp-gen') symlinkSync(join(d, e), join(shadow, e))
    return shadow
  }).join(delimiter)
})

afterAll(() => {
  rmSync(root, {recursive: true, force: true})
  expect(snapshot(), 'the repository\'s example project is unchanged').toEqual(before)
})

describe.skipIf(engineMissing('strace') !== undefined)('seccomp-ci.sh on the example project', () => {
  it('the committed profile is one the tests can miss: it does not name mkdir', () => {
    expect(names(join(example, 'seccomp.json')).has('mkdir')).toBe(false)
    expect(names(join(example, 'seccomp.json')).has('execve')).toBe(true)
  })

  it('passes (exit 0) with the repository\'s bin/seccomp-gen, found beside the script', () => {
    const dir = project()
    const r = recipe(dir)
    expect(r.status, show(r)).toBe(0)
    expect(r.stderr).toContain(`seccomp-ci: using ${ci}/../../bin/seccomp-gen`)
    expect(r.stdout).toMatch(/^ok - world$/m) // the test suite ran, its output untouched
    expect(r.stderr).toContain('seccomp-ci: pass: every call the tests made is allowed by seccomp.json')
    for (const f of ['tests.obs.json', 'profile.json', 'check.txt']) expect(existsSync(join(dir, 'seccomp-out', f)), f).toBe(true)
    // the report is on stdout and kept in check.txt
    expect(r.stdout).toContain(readFileSync(join(dir, 'seccomp-out', 'check.txt'), 'utf8'))
    // no update asked: the committed profile stays
    expect(readFileSync(join(dir, 'seccomp.json'), 'utf8')).toBe(before['seccomp.json'])
  })

  it('passes with seccomp-gen installed as `npm install -g` lays it out (a link in PATH)', () => {
    // npm install -g of the package folder: PREFIX/lib/node_modules/seccomp-gen is the package,
    // PREFIX/bin/seccomp-gen a relative link to its bin/seccomp-gen
    const prefix = join(root, 'global')
    mkdirSync(join(prefix, 'lib', 'node_modules'), {recursive: true})
    mkdirSync(join(prefix, 'bin'))
    symlinkSync(repoRoot, join(prefix, 'lib', 'node_modules', 'seccomp-gen'))
    symlinkSync('../lib/node_modules/seccomp-gen/bin/seccomp-gen', join(prefix, 'bin', 'seccomp-gen'))
    const r = recipe(project(), {PATH: `${join(prefix, 'bin')}${delimiter}${barePath}`})
    expect(r.status, show(r)).toBe(0)
    expect(r.stderr).toContain('seccomp-ci: using seccomp-gen\n')
  })

  it('passes with SECCOMP_GEN set and the strace engine (what GitHub\'s runners record with)', () => {
    const r = recipe(project(), {SECCOMP_GEN: join(repoRoot, 'bin', 'seccomp-gen'), SECCOMP_ENGINE: 'strace'})
    expect(r.status, show(r)).toBe(0)
    expect(r.stderr).toContain(`seccomp-ci: using ${join(repoRoot, 'bin', 'seccomp-gen')}`)
  })

  it('fails (exit 1) with check\'s report naming mkdir when the program starts calling it', () => {
    const dir = project()
    addMkdir(dir)
    const summary = join(dir, 'summary.md')
    const r = recipe(dir, {GITHUB_STEP_SUMMARY: summary})
    expect(r.status, show(r)).toBe(1)
    expect(r.stdout).toMatch(/^ok - world$/m) // the tests still pass: only the profile is short
    const report = readFileSync(join(dir, 'seccomp-out', 'check.txt'), 'utf8')
    expect(report).toMatch(/\bmkdir\b/)
    expect(r.stdout).toContain(report)
    expect(r.stderr).toContain('seccomp-ci: FAIL: the program needs more than seccomp.json (above); the profile it needs now is seccomp-out/profile.json')
    // the profile the tests need now allows it; the committed one is left alone
    expect(names(join(dir, 'seccomp-out', 'profile.json')).has('mkdir')).toBe(true)
    expect(readFileSync(join(dir, 'seccomp.json'), 'utf8')).toBe(before['seccomp.json'])
    // on GitHub the report also goes to the job's summary page
    expect(readFileSync(summary, 'utf8')).toContain(report)
    // the README's "## In CI" shows this run: its report is today's check output, line for line
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    const shown = /^seccomp-ci: checking the recording against seccomp\.json\n((?:(?!seccomp-ci: ).*\n)*)seccomp-ci: FAIL/m.exec(readme.slice(readme.indexOf('\n## In CI\n')))
    expect(shown, 'the failing run in the README').not.toBeNull()
    expect(shown![1]).toBe(report)
  })

  it('SECCOMP_UPDATE=1 writes the new profile over the committed one; the next run passes', () => {
    const dir = project()
    addMkdir(dir)
    const r = recipe(dir, {SECCOMP_UPDATE: '1'})
    expect(r.status, show(r)).toBe(1) // the status still judges the profile that was committed
    expect(r.stderr).toContain('seccomp-ci: updated seccomp.json from this run\'s recording')
    expect(names(join(dir, 'seccomp.json')).has('mkdir')).toBe(true)
    const again = recipe(dir)
    expect(again.status, show(again)).toBe(0)
  })

  it('SECCOMP_UPDATE=1 makes the first profile when none is committed (exit 0)', () => {
    const dir = project()
    rmSync(join(dir, 'seccomp.json'))
    const r = recipe(dir, {SECCOMP_UPDATE: '1'})
    expect(r.status, show(r)).toBe(0)
    expect(readFileSync(join(dir, 'seccomp.json'), 'utf8')).toBe(readFileSync(join(dir, 'seccomp-out', 'profile.json'), 'utf8'))
  })

  it('exit 3 when the test suite itself fails under record, nothing judged', () => {
    const dir = project()
    writeFileSync(join(dir, 'greet.sh'), readFileSync(join(dir, 'greet.sh'), 'utf8').replace("'Hello, ", "'Bye, "))
    const r = recipe(dir)
    expect(r.status, show(r)).toBe(3)
    expect(r.stdout).toMatch(/^not ok - world/m)
    expect(r.stderr).toContain('seccomp-ci: the test suite failed (exit 1): fix the tests first; the profile is not judged')
    expect(existsSync(join(dir, 'seccomp-out', 'check.txt'))).toBe(false)
  })

  it('exit 2 with one line for what is wrong with the set-up, before the tests run', () => {
    const cases: [Record<string, string>, string, (dir: string) => void][] = [
      [{SECCOMP_PROFILE: 'missing.json'}, 'seccomp-ci: no committed profile missing.json: make the first one with SECCOMP_UPDATE=1 and commit it', () => {}],
      [{SECCOMP_ENGINE: 'ptrace'}, "seccomp-ci: SECCOMP_ENGINE must be auto, bpf or strace, not 'ptrace'", () => {}],
      [{SECCOMP_GEN: 'no-such-seccomp-gen --flag'}, "seccomp-ci: SECCOMP_GEN: no command 'no-such-seccomp-gen --flag'", () => {}],
    ]
    for (const [env, line] of cases) {
      const dir = project()
      const r = recipe(dir, env)
      expect(r.status, show(r)).toBe(2)
      expect(r.stderr.trim().split('\n').at(-1)).toBe(line)
      expect(r.stdout).toBe('') // the tests did not run
    }
  })

  it('exit 2 when seccomp-gen is neither set, installed nor beside the script', () => {
    const elsewhere = join(root, 'elsewhere.sh')
    cpSync(script, elsewhere)
    const r = spawnSync('sh', [elsewhere], {cwd: project(), encoding: 'utf8', env: {PATH: barePath}})
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr.trim()).toBe('seccomp-ci: seccomp-gen not found: install it (npm install -g seccomp-gen) or set SECCOMP_GEN')
  })
})

describe('examples/ci/github-actions.yml', () => {
  const schema = JSON.parse(readFileSync(anchor('github-workflow.json'), 'utf8'))
  const validate = new Ajv({allErrors: true, strict: false}).compile(schema)

  it('is a valid GitHub Actions workflow (SchemaStore\'s github-workflow schema)', () => {
    expect(validate(workflow), JSON.stringify(validate.errors, null, 2)).toBe(true)
    // and the schema can fail: a job without runs-on, a step with a misspelt key
    const broken = structuredClone(workflow)
    delete (Object.values(broken.jobs)[0] as Partial<Workflow['jobs'][string]>)['runs-on']
    expect(validate(broken)).toBe(false)
    const misspelt = structuredClone(workflow)
    Object.assign(Object.values(misspelt.jobs)[0].steps[0], {usess: 'actions/checkout@v4'})
    expect(validate(misspelt)).toBe(false)
  })

  it('runs on push and pull_request, on ubuntu-latest', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push'])
    expect(Object.keys(workflow.jobs)).toHaveLength(1)
    expect(job['runs-on']).toBe('ubuntu-latest')
  })

  it('installs strace, libseccomp2, Node 20 and seccomp-gen, then calls the script', () => {
    const runs = job.steps.flatMap((s) => (s.run ? [s.run] : []))
    expect(runs.some((r) => /apt-get install\b.*\bstrace\b/.test(r) && /\blibseccomp2\b/.test(r)), runs.join('\n')).toBe(true)
    const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))
    expect(node?.with?.['node-version']).toBe(20)
    expect(runs).toContain('npm install -g seccomp-gen')
    // the script's path, from the steps' working directory, is the script tested above
    const call = runs.find((r) => r.includes('seccomp-ci.sh'))
    expect(call).toMatch(/^sh \S+$/)
    const cwd = job.defaults?.run?.['working-directory'] ?? '.'
    expect(normalize(join(repoRoot, cwd, call!.slice(3)))).toBe(script)
    // the step's settings are the script's: every SECCOMP_* the job sets is one the script reads
    const text = readFileSync(script, 'utf8')
    for (const key of Object.keys(job.env ?? {})) expect(text, key).toContain(`\${${key}:-`)
    expect(relative(repoRoot, join(repoRoot, cwd))).toBe(relative(repoRoot, example))
  })

  it('on main uploads the new profile (and the report) as an artifact, also after a failed check', () => {
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    expect(upload).toBeDefined()
    expect(upload!.if).toContain("github.ref == 'refs/heads/main'")
    expect(upload!.if).toContain('!cancelled()')
    // artifact paths are from the workspace root (working-directory is for run steps only)
    const out = job.env?.SECCOMP_OUT ?? 'seccomp-out'
    const paths = String(upload!.with?.path).trim().split('\n')
    const cwd = job.defaults?.run?.['working-directory'] ?? '.'
    expect(paths).toContain(join(cwd, out, 'profile.json'))
    expect(paths).toContain(join(cwd, out, 'check.txt'))
  })
})

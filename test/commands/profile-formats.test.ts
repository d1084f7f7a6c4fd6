/**
 * apply and export read a profile in every format check and diff read (profile/load.ts): the
 * Kubernetes SeccompProfile YAML that `build --format k8s` writes (led by # comments), the same
 * object as JSON (`kubectl get -o json`), and a bundle's config.json. Given any of them, they
 * behave exactly as given the profile's JSON: the same compiled filter (export --pfc), the same
 * run under apply, the same config.json from apply --bundle. A YAML that is not a
 * SeccompProfile is one error line, a non-zero exit, and nothing written.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {EXIT} from '../../src/errors.js'
import {stringifyJson64} from '../../src/profile/json64.js'
import {cliError, repoRoot, runCli, type CliResult} from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'sg-formats-'))
const p = (n: string) => join(tmp, n)
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const observation = join(repoRoot, 'fixtures', 'busybox-sh.obs.json')

/** The profile's JSON, and the same profile in every other format, by name. */
const json = p('bb.json')
const forms: Record<string, string> = {}

/** A config.json as `runc spec` writes it, without linux.seccomp. */
const bundleConfig = JSON.stringify({
  ociVersion: '1.0.2-dev',
  process: {args: ['sh'], cwd: '/', capabilities: {bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN', 'CAP_KILL']}},
  root: {path: 'rootfs'},
  linux: {namespaces: [{type: 'pid'}]},
}, null, '\t')

/** The one error line of a failed run (and that it was one line, nothing else on stderr). */
function oneLine(r: CliResult): string {
  expect(r.stderrLines, r.stderr).toHaveLength(1)
  const e = cliError(r)
  expect(e, r.stderr).toBeDefined()
  return e!.message
}

beforeAll(async () => {
  const oci = await runCli(['build', '-q', '--format', 'oci', '-o', json, observation])
  expect(oci.status, oci.stderr).toBe(0)
  forms['SeccompProfile YAML'] = p('bb.yaml')
  const k8s = await runCli(['build', '-q', '--format', 'k8s', '--name', 'bb', '-o', forms['SeccompProfile YAML'], observation])
  expect(k8s.status, k8s.stderr).toBe(0)
  const yamlText = readFileSync(forms['SeccompProfile YAML'], 'utf8')
  // the file that failed with "invalid JSON: unexpected character '#'"
  expect(yamlText).toMatch(/^# /)
  forms['SeccompProfile JSON'] = p('bb.k8s.json')
  writeFileSync(forms['SeccompProfile JSON'], stringifyJson64(parseAllDocuments(yamlText, {intAsBigInt: true})[0]!.toJS()))
  forms["a bundle's config.json"] = p('config.json')
  const config = JSON.parse(bundleConfig) as {linux: Record<string, unknown>}
  config.linux.seccomp = JSON.parse(readFileSync(json, 'utf8'))
  writeFileSync(forms["a bundle's config.json"], JSON.stringify(config, null, '\t'))
  writeFileSync(p('cm.yaml'), '# not a profile\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n')
})

if (process.arch !== 'x64') console.warn(`[skip] apply and export of every profile format: the test profile is x86_64's (this is ${process.arch})`)
describe.runIf(process.arch === 'x64')('apply and export read every profile format', () => {
  it.each(['SeccompProfile YAML', 'SeccompProfile JSON', "a bundle's config.json"])('export --pfc of %s: the filter of the JSON', async (form) => {
    const want = await runCli(['export', json, '--pfc'])
    expect(want.status, want.stderr).toBe(0)
    expect(want.stdout).toMatch(/pseudo filter code start/)
    const got = await runCli(['export', forms[form]!, '--pfc'])
    expect(got.status, got.stderr).toBe(0)
    expect(got.stdout).toBe(want.stdout)
    expect(got.stderr).toBe(want.stderr)
  })

  it('apply of the SeccompProfile YAML runs CMD as the JSON does: allowed calls run, chmod is denied', async () => {
    const cmd = ['--', '/bin/busybox', 'sh', '-c', 'echo ok; echo x > f; chmod 600 f']
    const runs: CliResult[] = []
    for (const [i, file] of [json, forms['SeccompProfile YAML']!].entries()) {
      const cwd = p(`run${i}`)
      mkdirSync(cwd)
      runs.push(await runCli(['apply', file, ...cmd], {cwd}))
    }
    const [a, b] = runs as [CliResult, CliResult]
    // the JSON really filters: chmod was never recorded, so it fails with EPERM
    expect(a.stdout).toBe('ok\n')
    expect(a.stderr).toContain('chmod: f: Operation not permitted')
    expect(a.status).toBe(1)
    expect({status: b.status, stdout: b.stdout, stderr: b.stderr}).toEqual({status: a.status, stdout: a.stdout, stderr: a.stderr})
  })

  it('apply --bundle of the SeccompProfile YAML writes the config.json the JSON writes', async () => {
    const out: string[] = []
    for (const [i, file] of [json, forms['SeccompProfile YAML']!].entries()) {
      const dir = p(`bundle${i}`)
      mkdirSync(dir)
      writeFileSync(join(dir, 'config.json'), bundleConfig)
      const r = await runCli(['apply', file, '--bundle', dir])
      expect(r.status, r.stderr).toBe(0)
      out.push(readFileSync(join(dir, 'config.json'), 'utf8'))
    }
    expect(out[0]).not.toBe(bundleConfig)
    expect(JSON.parse(out[0]!).linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO')
    // the CRD has no defaultErrnoRet (its default errno is EPERM): build's JSON says 1, the YAML nothing
    expect(out[1]).toBe(out[0]!.replace(/\n\t*"defaultErrnoRet": 1,/, ''))
    // and the two bundles hold the same filter
    const pfc = await Promise.all([0, 1].map((i) => runCli(['export', p(`bundle${i}/config.json`), '--pfc'])))
    expect(pfc[0]!.stdout).toMatch(/pseudo filter code start/)
    expect(pfc[1]!.stdout).toBe(pfc[0]!.stdout)
  })

  it('a YAML that is not a SeccompProfile: one line, exit 3, nothing written (export, apply, apply --bundle)', async () => {
    const cm = p('cm.yaml')
    const bpf = p('cm.bpf')
    const dir = p('bundle-cm')
    mkdirSync(dir)
    writeFileSync(join(dir, 'config.json'), bundleConfig)
    for (const args of [['export', cm, '--pfc'], ['export', cm, '--bpf', bpf], ['apply', cm, '--', '/bin/true'], ['apply', cm, '--bundle', dir]]) {
      const r = await runCli(args)
      expect(r.status, args.join(' ')).toBe(EXIT.INVALID_PROFILE)
      expect(oneLine(r)).toBe(`${cm}: not a SeccompProfile: its YAML holds ConfigMap`)
      expect(r.stdout).toBe('')
    }
    expect(existsSync(bpf)).toBe(false)
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(bundleConfig)
  })

  it("a bundle's config.json without linux.seccomp is said as such (not 'not a seccomp profile')", async () => {
    const cfg = p('nosec/config.json')
    mkdirSync(p('nosec'))
    writeFileSync(cfg, bundleConfig)
    for (const args of [['export', cfg, '--pfc'], ['apply', cfg, '--', '/bin/true'], ['diff', cfg, json]]) {
      const r = await runCli(args)
      // diff says trouble with 2, as diff(1)
      expect(r.status, args.join(' ')).toBe(args[0] === 'diff' ? 2 : EXIT.INVALID_PROFILE)
      expect(oneLine(r)).toBe(`${cfg}: this runtime-spec config.json has no seccomp profile (/linux/seccomp)`)
    }
  })
})

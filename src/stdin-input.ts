/**
 * "-" as an input file means standard input (`build -`, `validate -`), so a recording can be
 * piped straight in: `seccomp-gen record -o - CMD | seccomp-gen build -`. The readers take
 * paths and may read a file twice (build looks at the first bytes, then parses the whole), which
 * a pipe cannot do, so standard input is first copied to a private temporary file (a 0700
 * directory, removed afterwards). Whatever names that file — an error, a diagnostic — says "-".
 */
import {createReadStream, createWriteStream, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {SeccompGenError} from './errors.js'

export const STDIN = '-'

/**
 * Call `use` with `paths`, "-" replaced by a copy of standard input; `shown` maps that copy's
 * name back to "-". `explain` may rewrite an error while the copy still exists (to say what
 * kind of file it is).
 */
export async function withStdin<T>(
  paths: string[],
  use: (paths: string[], shown: (text: string) => string) => Promise<T> | T,
  explain: (err: unknown) => unknown = (err) => err,
): Promise<T> {
  const dashes = paths.filter((p) => p === STDIN).length
  if (dashes === 0) return use(paths, (text) => text)
  if (dashes > 1) throw new SeccompGenError('USAGE', 'standard input (-) can be read only once')
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-gen-stdin-'))
  const copy = join(dir, 'stdin')
  const shown = (text: string) => text.replaceAll(copy, STDIN)
  try {
    await pipeline(createReadStream('', {fd: 0, autoClose: false}), createWriteStream(copy, {mode: 0o600}))
    return await use(paths.map((p) => (p === STDIN ? copy : p)), shown)
  } catch (thrown) {
    const err = explain(thrown)
    if (err instanceof SeccompGenError) throw new SeccompGenError(err.code, shown(err.message), {file: err.file && shown(err.file), line: err.line})
    if (err instanceof Error) err.message = shown(err.message)
    throw err
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

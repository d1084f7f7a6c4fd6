/**
 * native/notify.ts signalProcess: the explain mode's kill goes to the caller's process only
 * while the notification is valid (no signal to a pid another process may have taken).
 */
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {signalProcess} from '../../native/notify.js'

const SIGKILL = 9
const SIGTERM = 15

describe('signalProcess', () => {
  it('sends nothing when the caller is no longer waiting, and signals the process when it is', async () => {
    const child = spawn('sleep', ['600'], {stdio: 'ignore'})
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    // had the SIGKILL gone out, the process would die of it, not of the SIGTERM after it
    expect(signalProcess(child.pid!, SIGKILL, () => false)).toBe(false)
    expect(signalProcess(child.pid!, SIGTERM, () => true)).toBe(true)
    expect(await exited).toBe('SIGTERM')
  })
})

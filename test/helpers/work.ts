/**
 * Counting the work code does on bytes, to test that it is linear without timing anything
 * (a count is the same on a loaded machine as on an idle one):
 * - countingView(): a view of a byte array that counts every element read through it, for code
 *   that reads bytes one by one (the strace lexer);
 * - bufferWork(): the bytes that Buffer/Uint8Array methods copy, search or decode while a
 *   function runs (the methods are wrapped for that time, then restored).
 */

/** A read of an array element: a property name that is a canonical array index. */
const INDEX = /^(?:0|[1-9]\d*)$/

/** `view` reads like `bytes` (elements and length; no methods), and counts element reads. */
export function countingView(bytes: Uint8Array): {view: Uint8Array; reads: () => number} {
  let reads = 0
  const view = new Proxy(bytes, {
    get(target, key) {
      if (typeof key === 'string' && INDEX.test(key)) reads++
      return Reflect.get(target, key) as unknown
    },
  })
  return {view, reads: () => reads}
}

type Counted = (self: Uint8Array, args: unknown[], result: unknown) => number

/** fromIndex of indexOf(value, fromIndex): where the search starts. */
function searchStart(self: Uint8Array, from: unknown): number {
  if (typeof from !== 'number') return 0
  return from < 0 ? Math.max(0, self.length + from) : Math.min(from, self.length)
}

/** The methods that walk bytes, and how many bytes one call walked. */
const METHODS: Array<[object, string, Counted]> = [
  [Buffer.prototype, 'copy', (_self, _args, copied) => copied as number],
  [Buffer.prototype, 'indexOf', (self, args, at) => ((at as number) < 0 ? self.length : (at as number) + 1) - searchStart(self, args[1])],
  [Buffer.prototype, 'toString', (_self, _args, text) => (text as string).length],
  [Uint8Array.prototype, 'set', (_self, args) => (args[0] as ArrayLike<number>).length],
  [Uint8Array.prototype, 'slice', (_self, _args, copy) => (copy as Uint8Array).length],
  [Buffer, 'concat', (_self, _args, joined) => (joined as Buffer).length],
  [Buffer, 'from', (_self, _args, made) => (made as Buffer).length],
]

/**
 * Runs `run` (synchronous) and returns how many bytes Buffer.prototype.copy/indexOf/toString,
 * Uint8Array.prototype.set/slice, Buffer.concat and Buffer.from walked meanwhile.
 */
export function bufferWork(run: () => void): number {
  let bytes = 0
  const restore = METHODS.map(([owner, name, counted]) => {
    const slots = owner as Record<string, unknown>
    const original = slots[name] as (...args: unknown[]) => unknown
    slots[name] = function (this: Uint8Array, ...args: unknown[]) {
      const result = original.apply(this, args)
      bytes += counted(this, args, result)
      return result
    }
    return () => (slots[name] = original)
  })
  try {
    run()
  } finally {
    for (const undo of restore) undo()
  }
  return bytes
}

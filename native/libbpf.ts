/**
 * The FFI boundary to libbpf.so.1 (koffi): open a compiled BPF object, size its maps, load it
 * (the kernel's verifier checks it), attach its programs, and read and write its maps by file
 * descriptor. Only what the recorder needs (src/trace/bpf/); nothing outside native/ imports
 * koffi.
 *
 * libbpf's own messages (its warnings, the verifier's log) are not printed: they are kept, and
 * a failure's error line quotes the most telling of them.
 *
 * The library ($SECCOMP_GEN_LIBBPF, default libbpf.so.1) is loaded on first use, so importing
 * this module never fails on a host without libbpf: libbpfLoads() says what is missing.
 */
import koffi from 'koffi'
import {SeccompGenError} from '../src/errors.js'
import {errnoLabel} from '../src/errno.js'
import {openLibrary} from './dl.js'

interface Lib {
  libbpf_set_print: (fn: unknown) => unknown
  bpf_object__open_file: (path: string, opts: null) => unknown
  bpf_object__load: (obj: unknown) => number
  bpf_object__close: (obj: unknown) => void
  bpf_object__find_map_by_name: (obj: unknown, name: string) => unknown
  bpf_object__next_program: (obj: unknown, prev: unknown) => unknown
  bpf_program__name: (prog: unknown) => string
  bpf_program__attach: (prog: unknown) => unknown
  bpf_link__destroy: (link: unknown) => number
  bpf_map__set_max_entries: (map: unknown, n: number) => number
  bpf_map__key_size: (map: unknown) => number
  bpf_map__value_size: (map: unknown) => number
  bpf_map__fd: (map: unknown) => number
  bpf_map_update_elem: (fd: number, key: Buffer, value: Buffer, flags: number) => number
  bpf_map_lookup_elem: (fd: number, key: Buffer, value: Buffer) => number
  bpf_map_get_next_key: (fd: number, key: Buffer | null, next: Buffer) => number
  vsnprintf: (buf: Buffer, size: number, fmt: unknown, args: unknown) => number
}

let lib: Lib | undefined
/** libbpf's messages since the last open(), newest last */
const messages: string[] = []
const MAX_MESSAGES = 400

function load(): Lib {
  if (lib) return lib
  const h = openLibrary(process.env.SECCOMP_GEN_LIBBPF || 'libbpf.so.1', 'BPF_UNAVAILABLE', 'Debian/Ubuntu: apt-get install libbpf1')
  const libc = openLibrary('libc.so.6', 'BPF_UNAVAILABLE')
  koffi.opaque('bpf_object_t')
  koffi.opaque('bpf_map_t')
  koffi.opaque('bpf_program_t')
  koffi.opaque('bpf_link_t')
  // libbpf_print_fn_t: int (*)(enum libbpf_print_level, const char *fmt, va_list args); on
  // x86-64 a va_list argument is a pointer, which vsnprintf takes as it is.
  const printFn = koffi.proto('int seccomp_gen_libbpf_print(int level, void *fmt, void *args)')
  const f = (sig: string) => h.func(sig)
  const l: Lib = {
    libbpf_set_print: f('void *libbpf_set_print(void *fn)'),
    bpf_object__open_file: f('bpf_object_t *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: f('int bpf_object__load(bpf_object_t *obj)'),
    bpf_object__close: f('void bpf_object__close(bpf_object_t *obj)'),
    bpf_object__find_map_by_name: f('bpf_map_t *bpf_object__find_map_by_name(bpf_object_t *obj, const char *name)'),
    bpf_object__next_program: f('bpf_program_t *bpf_object__next_program(bpf_object_t *obj, bpf_program_t *prev)'),
    bpf_program__name: f('const char *bpf_program__name(bpf_program_t *prog)'),
    bpf_program__attach: f('bpf_link_t *bpf_program__attach(bpf_program_t *prog)'),
    bpf_link__destroy: f('int bpf_link__destroy(bpf_link_t *link)'),
    bpf_map__set_max_entries: f('int bpf_map__set_max_entries(bpf_map_t *map, uint32_t n)'),
    bpf_map__key_size: f('uint32_t bpf_map__key_size(bpf_map_t *map)'),
    bpf_map__value_size: f('uint32_t bpf_map__value_size(bpf_map_t *map)'),
    bpf_map__fd: f('int bpf_map__fd(bpf_map_t *map)'),
    bpf_map_update_elem: f('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    bpf_map_lookup_elem: f('int bpf_map_lookup_elem(int fd, const void *key, _Out_ void *value)'),
    bpf_map_get_next_key: f('int bpf_map_get_next_key(int fd, const void *key, _Out_ void *next)'),
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, void *fmt, void *args)'),
  }
  const text = Buffer.alloc(4096)
  const print = koffi.register((_level: number, fmt: unknown, args: unknown) => {
    const n = l.vsnprintf(text, text.length, fmt, args)
    for (const line of text.toString('utf8', 0, Math.max(0, Math.min(n, text.length - 1))).split('\n')) {
      if (line.trim()) messages.push(line.trimEnd())
    }
    if (messages.length > MAX_MESSAGES) messages.splice(0, messages.length - MAX_MESSAGES)
    return 0
  }, koffi.pointer(printFn))
  l.libbpf_set_print(print)
  lib = l
  return lib
}

/** Whether libbpf.so.1 loads here; the reason when it does not. */
export function libbpfLoads(): {ok: true} | {ok: false; reason: string} {
  try {
    load()
    return {ok: true}
  } catch (err) {
    return {ok: false, reason: (err as Error).message}
  }
}

/** A map of a loaded object, by file descriptor. */
export class BpfMap {
  constructor(readonly name: string, readonly fd: number, readonly keySize: number, readonly valueSize: number) {}

  update(key: Buffer, value: Buffer): void {
    const r = load().bpf_map_update_elem(this.fd, key, value, 0)
    if (r < 0) throw new SeccompGenError('BPF_UNAVAILABLE', `writing BPF map ${this.name} failed: ${errnoLabel(-r)}`)
  }

  /** The value of key, or undefined when the map has none. */
  lookup(key: Buffer): Buffer | undefined {
    const value = Buffer.alloc(this.valueSize)
    return load().bpf_map_lookup_elem(this.fd, key, value) === 0 ? value : undefined
  }

  /** Every (key, value) of a hash map. */
  *entries(): Generator<[Buffer, Buffer]> {
    const l = load()
    let prev: Buffer | null = null
    for (;;) {
      const next = Buffer.alloc(this.keySize)
      if (l.bpf_map_get_next_key(this.fd, prev, next) !== 0) return
      const value = this.lookup(next)
      if (value) yield [next, value]
      prev = next
    }
  }
}

export interface MapShape {
  keySize: number
  valueSize: number
  /** set max_entries before load */
  maxEntries?: number
}

/** An opened, loaded and attached BPF object; close() detaches and frees it. */
export class BpfObject {
  private links: unknown[] = []
  private closed = false
  readonly maps: Record<string, BpfMap> = {}

  private constructor(private readonly obj: unknown) {}

  /**
   * Open the object file at path, size its maps, load it into the kernel and attach every
   * program. The attach calls return once the probes are live. Errors say which step failed and,
   * for a verifier rejection, the kernel's reason.
   */
  static load(path: string, shapes: Record<string, MapShape>, kernel: string): BpfObject {
    const l = load()
    messages.length = 0
    const obj = l.bpf_object__open_file(path, null)
    if (!obj) throw new SeccompGenError('BPF_UNAVAILABLE', `cannot open the BPF object ${path}: ${errnoLabel(koffi.errno())}${lastMessage()}`)
    const o = new BpfObject(obj)
    try {
      const handles: Record<string, unknown> = {}
      for (const [name, shape] of Object.entries(shapes)) {
        const m = l.bpf_object__find_map_by_name(obj, name)
        if (!m) throw new SeccompGenError('INTERNAL', `the BPF object ${path} has no map ${name} (rebuild with npm run build)`)
        // the buffers read and written below are sized from the shapes: a stale object must not overrun them
        if (l.bpf_map__key_size(m) !== shape.keySize || l.bpf_map__value_size(m) !== shape.valueSize) {
          throw new SeccompGenError('INTERNAL', `the BPF object ${path} does not match this seccomp-gen (map ${name}; rebuild with npm run build)`)
        }
        if (shape.maxEntries !== undefined && l.bpf_map__set_max_entries(m, shape.maxEntries) !== 0) throw new SeccompGenError('INTERNAL', `cannot size BPF map ${name}`)
        handles[name] = m
      }
      const r = l.bpf_object__load(obj)
      if (r < 0) {
        throw new SeccompGenError('BPF_UNAVAILABLE', `the kernel (${kernel}) refused to load the recorder: ${errnoLabel(-r)}${lastMessage()}`)
      }
      for (const [name, shape] of Object.entries(shapes)) o.maps[name] = new BpfMap(name, l.bpf_map__fd(handles[name]), shape.keySize, shape.valueSize)
      for (let p = l.bpf_object__next_program(obj, null); p; p = l.bpf_object__next_program(obj, p)) {
        const link = l.bpf_program__attach(p)
        if (!link) throw new SeccompGenError('BPF_UNAVAILABLE', `cannot attach ${l.bpf_program__name(p)} (kernel ${kernel}): ${errnoLabel(koffi.errno())}${lastMessage()}`)
        o.links.push(link)
      }
      return o
    } catch (err) {
      o.close()
      throw err
    }
  }

  /** Detach every program and free the object (its maps go with it). Safe to call twice. */
  close(): void {
    if (this.closed) return
    this.closed = true
    const l = load()
    for (const link of this.links) l.bpf_link__destroy(link)
    this.links = []
    l.bpf_object__close(this.obj)
  }
}

/**
 * The most telling line libbpf printed: the verifier's last words (its log ends with the reason),
 * else libbpf's own last error line.
 */
function lastMessage(): string {
  const useful = messages.filter(
    (m) =>
      !/^-- (BEGIN|END) PROG LOAD LOG --$/.test(m) &&
      !/^libbpf: prog '.*': (BPF program load failed|failed to load)/.test(m) &&
      // the verifier's statistics, printed after its reason
      !/^(processed \d+ insns|verification time|stack depth)/.test(m),
  )
  const verifier = useful.filter((m) => !m.startsWith('libbpf:'))
  // the verifier ends with its reason, often in two lines (what, then why); an instruction of
  // its trace (`34: (0c) w1 += w2 ; R1=…`) before the last line is not part of it
  const reason = verifier.slice(-2).filter((m, i, two) => i === two.length - 1 || !/^\d+: /.test(m))
  const pick = reason.length > 0 ? reason.join('; ') : useful[useful.length - 1]
  return pick ? ` (${pick.replace(/^libbpf: /, '').slice(0, 300)})` : ''
}

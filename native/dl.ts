/**
 * Opening shared libraries (koffi.load) for the modules of native/: one handle per library
 * name, opened on first use and kept, so importing a module never fails on a host without the
 * library; the first call that needs it says what is missing.
 */
import koffi from 'koffi'
import {SeccompGenError, type ErrorCode} from '../src/errors.js'

export type Library = ReturnType<typeof koffi.load>

const handles = new Map<string, Library>()

/**
 * The handle of library `name` (a soname: 'libc.so.6'). When it does not load: a SeccompGenError
 * of `code`, "cannot load NAME (why)", and "; install it (HINT)" when the caller knows the
 * package. Only the first line of the loader's reason is kept (the error is one line).
 */
export function openLibrary(name: string, code: ErrorCode, installHint?: string): Library {
  let h = handles.get(name)
  if (h) return h
  try {
    h = koffi.load(name)
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]
    throw new SeccompGenError(code, `cannot load ${name} (${why})${installHint ? `; install it (${installHint})` : ''}`)
  }
  handles.set(name, h)
  return h
}

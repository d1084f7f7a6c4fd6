/**
 * The capability set `apply` and `export` resolve includes/excludes.caps against when --caps is
 * not given: Docker's default set, kept as data in profiles/capabilities.json (defaultCaps).
 */
import {defaultCaps} from '../profile/data.js'
import {normalizeCap} from '../profile/resolve.js'

export function dockerDefaultCaps(): string[] {
  return defaultCaps().map(normalizeCap)
}

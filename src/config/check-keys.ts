/** A map's keys against the implemented keywords and the unsupported table (src/config/keywords.ts). */
import { didYouMean, joinPath, type Diagnostics } from './diagnostics.js';
import { unsupportedText, type Support } from './keywords.js';
import { keyPos, type PlainMap, type Pos } from './yaml-source.js';

export function checkKeys(
  map: PlainMap,
  path: string,
  fallback: Pos,
  diag: Diagnostics,
  known: readonly string[],
  unsupported: Readonly<Record<string, Support>>,
  /** Leave no_provider keys to the caller (a job reports them only if it is in the pipeline). */
  deferNoProvider = false,
): void {
  for (const k of Object.keys(map)) {
    if (known.includes(k)) continue;
    if (deferNoProvider && unsupported[k]?.kind === 'no_provider') continue;
    const at = keyPos(map, k, fallback);
    const s = Object.prototype.hasOwnProperty.call(unsupported, k) ? unsupported[k] : undefined;
    if (s) reportUnsupported(diag, joinPath(path, k), at, s);
    else diag.error(joinPath(path, k), at, `unknown key '${k}'${didYouMean(k, [...known, ...Object.keys(unsupported)])}`);
  }
}

/**
 * A refused keyword is an error (the pipeline is not created), a harmless one a warning.
 * A no_provider one is an error coded `no_provider` (lint shows it as a warning); for a job
 * the caller reports it only once the job is known to be in the pipeline (`noProviderKeys`).
 */
export function reportUnsupported(diag: Diagnostics, path: string, at: Pos, s: Support): void {
  if (s.kind === 'refuse') diag.error(path, at, unsupportedText(s));
  else if (s.kind === 'no_provider') diag.error(path, at, unsupportedText(s), 'no_provider');
  else diag.warn(path, at, unsupportedText(s));
}

/** What build this process runs: the package version (faultline_build_info, runner registration). */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown'; // a bundled build without package.json beside it
  }
}

export const FAULTLINE_VERSION = readVersion();

/**
 * What the long-running commands say about their tokens. A token is printed once, on the
 * start that generated it, or when asked (--show-tokens); every other start names the
 * file it is in. Terminal scrollback and service logs keep what is printed.
 */
import type { Coordinator } from '../coordinator/index.js';
import { dim } from './format.js';

export function tokenLines(c: Pick<Coordinator, 'registrationToken' | 'apiToken' | 'tokens'>, show: boolean): string[] {
  const line = (label: string, token: string, created: boolean, file: string) =>
    show || created
      ? `  ${label}${token}${created ? dim(`  (new: shown this once; saved in ${file})`) : ''}`
      : `  ${label}${dim(`saved in ${file} (--show-tokens prints it)`)}`;
  return [
    line('registration token: ', c.registrationToken, c.tokens.created.registration, c.tokens.files.registration),
    line('API token:          ', c.apiToken, c.tokens.created.api, c.tokens.files.api),
  ];
}

/**
 * A `spec:` header on the file being compiled (GitLab's pipeline inputs). faultline
 * does not take inputs when a pipeline is created yet, so every input needs a default;
 * one without is refused with its name rather than interpolated as empty.
 */
import type { Diagnostics } from '../diagnostics.js';
import { START, type PlainMap } from '../yaml-source.js';
import { bindInputs, interpolate, readSpec } from './inputs.js';

export function applyMainSpec(header: PlainMap, content: unknown, diag: Diagnostics): unknown {
  const spec = readSpec(header, 'this file', diag);
  if (!spec) return null;
  const missing = spec.inputs.filter((i) => !('default' in i));
  for (const i of missing) {
    diag.error(
      `spec.inputs.${i.name}`,
      i.pos,
      `input '${i.name}' has no default, and faultline does not take pipeline inputs when creating a pipeline yet; give it a default:`,
    );
  }
  if (missing.length > 0) return null;
  const inputs = bindInputs(spec.inputs, undefined, 'this file', { path: 'spec.inputs', pos: START }, diag);
  if (!inputs) return null;
  return interpolate(content, { inputs, variables: {} }, 'this file', diag);
}

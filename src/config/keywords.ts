/**
 * What faultline does with each GitLab keyword it does not implement. Fail closed:
 * a keyword that restricts or shapes what runs is REFUSED (the pipeline is not
 * created, the message names the keyword and why); one that only adds something
 * faultline does not produce (a report, a badge, a cache) is WARNED about.
 * A keyword that needs a provider faultline does not have (secrets, ID tokens) is
 * NO_PROVIDER: the configuration is valid (lint warns), but a pipeline in which a job
 * has it is refused when created — the job would run without its variables, and such a
 * failure would be faultline's gap, not the developers' build nor the operators' infra.
 * src/config/README.md lists the same tables; a test keeps the two in step.
 */

export type Support = { kind: 'warn' | 'refuse' | 'no_provider'; why: string };

const warn = (why: string): Support => ({ kind: 'warn', why });
const refuse = (why: string): Support => ({ kind: 'refuse', why });
const noProvider = (why: string): Support => ({ kind: 'no_provider', why });

/** Top-level keywords. `include`/`spec` belong to the include resolver (include/). */
export const GLOBAL_UNSUPPORTED: Record<string, Support> = {};

export const JOB_UNSUPPORTED: Record<string, Support> = {
  coverage: warn('the coverage value is not extracted from the log'),
  release: warn('no release is created'),
  pages: warn('no Pages site is published'),
  publish: warn('no Pages site is published'),
  dast_configuration: warn('no DAST site/scanner profile is injected'),
  manual_confirmation: warn('no confirmation dialog is shown before the job is played'),
  secrets: noProvider('faultline has no secrets provider (Vault, Azure Key Vault, GCP Secret Manager); the variables would be missing'),
  id_tokens: noProvider('faultline issues no OIDC ID tokens; the variables would be missing'),
  identity: refuse('faultline has no identity federation; the job would run without its credentials'),
  run: refuse('CI steps (run:) are not run by faultline'),
};

export const DEFAULT_UNSUPPORTED: Record<string, Support> = {
  artifacts: refuse('default: artifacts: is not applied to the jobs yet (later jobs would miss the files); give artifacts: per job'),
  id_tokens: JOB_UNSUPPORTED.id_tokens!,
  identity: JOB_UNSUPPORTED.identity!,
};

export const RULE_UNSUPPORTED: Record<string, Support> = {
  start_in: refuse('when: delayed is not implemented; the job would start at once'),
};

export const WORKFLOW_UNSUPPORTED: Record<string, Support> = {
  name: warn('the pipeline name is not shown'),
};

export const WORKFLOW_RULE_UNSUPPORTED: Record<string, Support> = {};

/** Sub-keys of otherwise implemented keywords. */
export const NESTED_UNSUPPORTED: Record<string, Support> = {
  'image.kubernetes': refuse('per-job kubernetes user options are not applied'),
  'when: delayed': refuse('when: delayed is not implemented; the job would start at once (use when: manual)'),
  'needs: project/pipeline': refuse('needs from another project or pipeline are not implemented; the artifacts would be missing'),
};

/** The message for an unsupported key (the diagnostic's path names the key). */
export function unsupportedText(s: Support): string {
  if (s.kind === 'no_provider') return `not provided by faultline, so a pipeline that uses it is refused when it is created: ${s.why}`;
  return s.kind === 'refuse'
    ? `not supported by faultline, so the pipeline is refused: ${s.why}`
    : `not supported by faultline; ignored: ${s.why}`;
}

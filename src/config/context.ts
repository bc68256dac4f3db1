/**
 * The pipeline context `faultline lint` assumes when none is given: a push to the
 * default branch, as GitLab's CI Lint simulates it.
 */
import { slugify } from '../pipeline/variables.js';

export function lintContext(ref = 'main', source = 'push'): Record<string, string> {
  return {
    CI: 'true',
    CI_PIPELINE_SOURCE: source,
    CI_DEFAULT_BRANCH: ref,
    CI_COMMIT_BRANCH: ref,
    CI_COMMIT_REF_NAME: ref,
    CI_COMMIT_REF_SLUG: slugify(ref),
  };
}

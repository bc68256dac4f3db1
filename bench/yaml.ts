/**
 * Generators of `.gitlab-ci.yml` files that stress the YAML layer (aliases, merge keys, a huge
 * top level), shared by bench/pipeline-scale.ts and test/config/yaml-limits.test.ts.
 */

/** n jobs, each taking its tags through an alias (2,000 aliases ≈ 75 KB). */
export function aliasYaml(n: number): string {
  const out = ['.tags: &tags [linux, docker]', '.img: &img alpine:3.20'];
  for (let i = 0; i < n; i++) out.push(`j${i}: {image: *img, tags: *tags, script: [echo ${i}]}`);
  return out.join('\n') + '\n';
}

/** n jobs, each merging a template with `<<: *anchor` and overriding one key. */
export function mergeKeyYaml(n: number): string {
  const out = ['.base: &base', '  image: alpine:3.20', '  tags: [linux]', '  retry: 1', '  interruptible: true'];
  for (let i = 0; i < n; i++) out.push(`j${i}:`, '  <<: *base', `  script: [echo ${i}]`);
  return out.join('\n') + '\n';
}

/** n independent jobs in one stage, one line each (25,000 jobs ≈ 830 KB: under the API's 1,000,000 characters). */
export function manyJobsYaml(n: number): string {
  const out = ['.t: {tags: [linux], interruptible: true}'];
  for (let i = 0; i < n; i++) out.push(`j${i}: {extends: .t, script: x}`);
  return out.join('\n') + '\n';
}

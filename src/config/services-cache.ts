/**
 * Shapes of `services:`, `cache:` and `image: entrypoint/docker` (GitLab's CI
 * reference). Pure: names and keys are kept as written — variables in them are
 * expanded, and `key: files:` hashed, by the runner, which has the environment
 * and the checkout.
 */
import { z } from 'zod';
import { CACHE_POLICIES, PULL_POLICIES, type CacheSpec, type ServiceSpec } from '../pipeline/model.js';

function oneOf<T extends [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]>(what: string, options: T) {
  return z.union(options, { errorMap: () => ({ message: `expected ${what}` }) });
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
/** An entrypoint/command: a string (one argv element, as GitLab) or a list of strings. */
export const argvSchema = oneOf('a string or a list of strings', [z.string(), z.array(z.string())]).transform((v) =>
  Array.isArray(v) ? v : [v],
);
const pullPolicy = z.enum(PULL_POLICIES);
const pullPolicies = oneOf('a pull policy or a list of pull policies', [pullPolicy, z.array(pullPolicy).min(1)]).transform((v) =>
  Array.isArray(v) ? v : [v],
);

export const imageDockerSchema = z.object({ user: scalar.optional(), platform: z.string().optional() }).strict();

/** `alias: "a,b"` is two aliases (GitLab 16+). */
const aliasSchema = z.string().transform((s) =>
  s
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean),
);

const serviceMap = z
  .object({
    name: z.string().min(1, 'the service image name is empty'),
    alias: aliasSchema.optional(),
    entrypoint: argvSchema.optional(),
    command: argvSchema.optional(),
    variables: z.record(z.string(), scalar).optional(),
    pull_policy: pullPolicies.optional(),
    docker: imageDockerSchema.optional(),
  })
  .strict();

export const servicesSchema = z
  .array(oneOf('a service image name or a map with name:', [z.string().min(1, 'the service image name is empty'), serviceMap]))
  .transform((list): ServiceSpec[] =>
    list.map((s) =>
      typeof s === 'string'
        ? { name: s, alias: [], entrypoint: null, command: null, variables: {}, pull_policy: [] }
        : {
            name: s.name,
            alias: s.alias ?? [],
            entrypoint: s.entrypoint ?? null,
            command: s.command ?? null,
            variables: s.variables ?? {},
            pull_policy: s.pull_policy ?? [],
          },
    ),
  );

const cacheKey = oneOf('a key string or a map with files: (and prefix:)', [
  scalar,
  z
    .object({
      files: z.array(z.string().min(1)).min(1, 'key: files: needs at least one file').max(2, 'key: files: takes at most two files'),
      prefix: scalar.optional(),
    })
    .strict(),
]);

const cacheMap = z
  .object({
    key: cacheKey.optional(),
    paths: z.array(z.string().min(1)).optional(),
    untracked: z.boolean().optional(),
    policy: z.enum(CACHE_POLICIES).optional(),
    when: z.enum(['on_success', 'on_failure', 'always']).optional(),
    fallback_keys: z.array(scalar).max(5, 'at most 5 fallback_keys').optional(),
    unprotect: z.boolean().optional(),
  })
  .strict();

const toCache = (c: z.output<typeof cacheMap>): CacheSpec => ({
  key: typeof c.key === 'string' ? c.key : 'default',
  files: typeof c.key === 'object' ? c.key.files : null,
  prefix: typeof c.key === 'object' ? (c.key.prefix ?? null) : null,
  paths: c.paths ?? [],
  untracked: c.untracked ?? false,
  policy: c.policy ?? 'pull-push',
  when: c.when ?? 'on_success',
  fallback_keys: c.fallback_keys ?? [],
});

/** `cache: {…}` or `cache: [{…}, …]` (up to 4, as GitLab); `cache: []` turns a default off. */
export const cacheSchema = oneOf('a cache map or a list of cache maps', [
  cacheMap,
  z.array(cacheMap).max(4, 'at most 4 caches per job'),
]).transform((v): CacheSpec[] => (Array.isArray(v) ? v : [v]).map(toCache));

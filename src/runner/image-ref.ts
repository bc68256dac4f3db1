/**
 * Parse a container image reference the way Docker does (distribution/reference):
 * the first path component is a registry host only when it contains "." or ":" or is
 * "localhost"; otherwise the image lives on Docker Hub.
 */
export interface ImageRef {
  /** Registry host[:port], e.g. "127.0.0.1:5000" or "docker.io". */
  registry: string;
  /** Repository path without registry, e.g. "library/alpine" or "group/app". */
  repository: string;
  tag: string | null;
  digest: string | null;
}

export const DEFAULT_REGISTRY = 'docker.io';

export function parseImageRef(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1) || null;
    rest = rest.slice(0, at);
  }
  let registry = DEFAULT_REGISTRY;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  // A tag is a ":" after the last "/" (a ":" before it belonged to the host's port).
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1) || null;
    rest = rest.slice(0, colon);
  }
  if (registry === DEFAULT_REGISTRY && !rest.includes('/')) rest = `library/${rest}`;
  if (!digest && !tag) tag = 'latest';
  return { registry, repository: rest, tag, digest };
}

/** The registry host an image is pulled from ("docker.io" for Docker Hub images). */
export function registryOf(image: string): string {
  return parseImageRef(image).registry;
}

/**
 * The raw (phase 1) derivation's name, shared with lib/fetchModel.nix: a FOD's store
 * path depends only on this name and the hash, so `prefetch` must add its result
 * under exactly this name for the later build to be a store hit.
 */
export function rawDerivationName(name: string): string {
  return `${name}-raw`;
}

/**
 * The two content ids every source and the lockfile speak of, as git, the Hub, Git LFS and
 * Ollama write them: lowercase hex only (an uppercase id is not the same string, and would
 * name another path). Stateless patterns (no `g` flag): safe to share.
 */

/** A SHA-1 git object id: a commit, a tree or a blob (the Hub's etag of a small file). */
export const GIT_OID = /^[0-9a-f]{40}$/;

/** A sha256 digest in hex: an LFS oid, a file's checksum, an Ollama layer without `sha256:`. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

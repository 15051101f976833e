import { UserError } from "../errors/user-error.js";

/**
 * Remote listings (a Hub tree, an S3 prefix, an MLflow artifact folder) are filtered by the
 * `files` patterns while they are read, so what they cost is what is fetched; how long they
 * may be is capped here, for every source alike. A million entries (files and folders) is
 * ten times the Hub's own advice for one repository (100,000 files) and far more than any
 * model has; a listing that goes on beyond it is a broken or hostile server (40 pages of
 * 300,000 entries once cost 2 GB), refused with this message rather than followed.
 *
 * The tally also keeps the first few paths, for the message when nothing matches.
 */
export const MAX_LISTING_ENTRIES = 1_000_000;
const SAMPLE_PATHS = 12;

export interface ListingTally {
  /** Entries seen so far, files and folders. */
  readonly count: number;
  /** The first paths seen (at most a dozen), for a message. */
  readonly sample: readonly string[];
  /** Counts a page (or an entry); throws when the listing goes past the cap. */
  add(entries: number, paths?: readonly string[]): void;
  /** Throws when `pending` more entries would go past the cap (a page being read). */
  check(pending: number): void;
}

/** `origin` names the listing in the message: "the Hub's tree listing of acme/tiny". */
export function listingTally(origin: string): ListingTally {
  let count = 0;
  const sample: string[] = [];
  const check = (pending: number) => {
    if (count + pending <= MAX_LISTING_ENTRIES) return;
    throw new UserError({
      what: `Refusing ${origin}: it goes on past ${MAX_LISTING_ENTRIES} entries`,
      fix: [
        `The fetcher reads at most ${MAX_LISTING_ENTRIES} entries (files and folders) of a listing, far more than any model has: the server is broken or hostile, or this is not a model's folder or repository.`,
      ],
    });
  };
  return {
    get count() {
      return count;
    },
    sample,
    check,
    add(entries, paths = []) {
      check(entries);
      count += entries;
      for (const path of paths) if (sample.length < SAMPLE_PATHS) sample.push(path);
    },
  };
}

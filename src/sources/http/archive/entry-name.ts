import { UserError } from "../../../errors/user-error.js";
import { checkRemotePath } from "../../remote-path.js";

/**
 * Archive entry names, as tar and zip tools write them, to snapshot paths. Only the
 * harmless spellings are normalised: a leading "./" (what `tar -C dir .` writes) and the
 * trailing "/" of a directory. Everything else goes through checkRemotePath unchanged,
 * so an absolute name, a ".." segment, a backslash or a NUL is refused, never cleaned.
 */
export function entryPath(name: string, archive: string): string {
  let path = name;
  while (path.startsWith("./")) path = path.slice(2);
  return checkRemotePath(path, `the archive ${archive}`);
}

/** Directory entries carry no content; their names are still checked. */
export function checkDirectoryName(name: string, archive: string): void {
  const trimmed = name.replace(/\/+$/, "");
  if (trimmed === "" || trimmed === ".") return;
  entryPath(trimmed, archive);
}

/** Links, devices and fifos: the snapshot holds regular files only (docs/sources/http.md). */
export function refuseEntry(archive: string, name: string, why: string): UserError {
  return new UserError({
    what: `Refusing an entry of the archive ${archive}: ${why}`,
    context: { entry: JSON.stringify(name) },
    fix: [
      "Only regular files and directories are unpacked: links could point outside the model folder, devices and fifos are not model files.",
      "Repack the archive without them, or fetch it with unpack = false and unpack it yourself.",
    ],
  });
}

/**
 * Refuses a second entry with the same path (or the same after Unicode NFC
 * normalisation) as soon as it appears, before its bytes are written.
 */
export class EntryNames {
  private readonly seen = new Map<string, string>();

  add(path: string, archive: string): void {
    const key = path.normalize("NFC");
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      throw new UserError({
        what: `Refusing the archive ${archive}: two entries name the same file`,
        context: { first: JSON.stringify(previous), second: JSON.stringify(path) },
      });
    }
    this.seen.set(key, path);
  }
}

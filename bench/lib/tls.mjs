/**
 * A certificate for a server on 127.0.0.1, made by openssl for one bench run: self-signed
 * (so it is its own CA, and every client is given it as the one CA to trust) and valid for
 * the address the clients connect to.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** Writes `dir`/tls-cert.pem and `dir`/tls-key.pem; returns { certificate, key } (their paths). */
export function selfSignedCertificate(dir) {
  const certificate = join(dir, "tls-cert.pem");
  const key = join(dir, "tls-key.pem");
  const result = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      certificate,
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl could not make a certificate:\n${result.stderr}`);
  return { certificate, key };
}

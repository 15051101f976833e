/**
 * A buffer of `size` bytes of its own, not zeroed: for an output the caller writes in full
 * before anyone reads it, or throws away. Decoding a chunk allocates one or two 64 KiB
 * buffers; zeroing each cost ~4 µs of the ~6 µs an allocation took here (0.13 s per GiB of
 * byte-grouped chunks). Never pooled (`allocUnsafeSlow`), so a kept chunk pins nothing else.
 */
export function unzeroed(size: number): Uint8Array {
  return Buffer.allocUnsafeSlow(size);
}

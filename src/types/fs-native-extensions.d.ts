/** The part of fs-native-extensions (holepunchto) the output lock uses; the package ships no types. */
declare module 'fs-native-extensions' {
  /**
   * An exclusive lock on the whole file open at `fd` (on Linux an open-file-description lock,
   * F_OFD_SETLK; BSD flock on macOS): true when granted, false when another open file holds it.
   * The fd must be open for writing. The kernel drops the lock when the last descriptor of that
   * open file closes, so also when the process dies.
   */
  export function tryLock(fd: number, options?: { shared?: boolean }): boolean;
  export function unlock(fd: number): void;
  const extensions: { tryLock: typeof tryLock; unlock: typeof unlock };
  export default extensions;
}

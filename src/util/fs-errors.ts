/** A file system error in words for a message: `no space left on device (ENOSPC)`. */
import { getSystemErrorMap } from 'node:util';

export function describeFsError(error: unknown): string {
  const { code, errno, message } = error as NodeJS.ErrnoException;
  const words = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1];
  if (words && code) return `${words} (${code})`;
  return message ?? String(error);
}

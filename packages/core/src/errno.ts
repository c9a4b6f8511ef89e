/** include/linux/errno.h: the error numbers ksim uses. */

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const ETIMEDOUT = 110;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EINTR]: "EINTR",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [EINVAL]: "EINVAL",
  [ENOSPC]: "ENOSPC",
  [ENOSYS]: "ENOSYS",
  [ETIMEDOUT]: "ETIMEDOUT",
};

/** "EBUSY" for -16 or 16; "E<n>" for one ksim does not name. */
export function errno_name(err: number): string {
  const n = Math.abs(err);
  return ERRNO_NAMES[n] ?? `E${n}`;
}


/** errno_name's inverse: 16 for "EBUSY"; undefined for a name ksim does not know. */
export function errno_from_name(name: string): number | undefined {
  for (const [code, n] of Object.entries(ERRNO_NAMES)) if (n === name) return Number(code);
  return undefined;
}

/** Every errno name ksim knows, in numeric order. */
export function errno_names(): string[] {
  return Object.values(ERRNO_NAMES);
}

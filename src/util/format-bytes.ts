/** "1.5 GiB", "300 MiB": device memory as the rows, the summary and the auto rule's reasons show it. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

/**
 * Keyset pages by `id`: `read(after, limit)` returns up to `limit` rows with an id after `after` (all
 * from the start when null), in id order. Never more than one page in memory, and no OFFSET scans.
 * `first` makes the first page smaller (a fan-out's first batch goes out sooner).
 */
export async function* pagesById<T extends { id: string }>(read: (after: string | null, limit: number) => Promise<T[]>, size: number, first = size): AsyncGenerator<T[]> {
  let after: string | null = null;
  for (let limit = first; ; limit = size) {
    const page = await read(after, limit);
    if (page.length) yield page;
    if (page.length < limit) return;
    after = page[page.length - 1]!.id;
  }
}

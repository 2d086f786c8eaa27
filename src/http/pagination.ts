import { z } from 'zod';

export const MAX_PAGE = 100;

const limitMessage = 'must be a whole number from 1 to 100';

/** `?limit=` (1..100, default 20) and `?before=` (the `next` cursor of the previous page). */
export const pageQuery = z.object({
  limit: z.coerce
    .number({ message: limitMessage })
    .int(limitMessage)
    .min(1, limitMessage)
    .max(MAX_PAGE, limitMessage)
    .default(20)
    .meta({ description: 'Items per page, 1 to 100' }),
  before: z.string().min(1).max(100).optional().meta({ description: 'The `next` of the previous page' }),
});

export type PageQuery = z.infer<typeof pageQuery>;

export interface ListPage<T> {
  items: T[];
  next: string | null;
}

export function mapPage<A, B>(page: ListPage<A>, f: (a: A) => B): ListPage<B> {
  return { items: page.items.map(f), next: page.next };
}

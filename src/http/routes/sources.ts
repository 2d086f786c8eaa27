import { Router } from 'express';
import type { AppContext } from '../../app/context.js';
import { requireSource } from '../../app/people.js';
import { canViewSource, homeTimeline, sourceTimeline } from '../../app/statuses.js';
import { forbidden } from '../../core/errors.js';
import { actorOf, ownSource, principalOf } from '../auth.js';
import { pageQuery } from '../pagination.js';
import { parseInput } from '../problem.js';

export function sourceRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/sources/:handle/statuses', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const source = await requireSource(ctx, req.params.handle ?? '');
    const viewer = actorOf(principalOf(res));
    if (!(await canViewSource(ctx, source, viewer))) {
      throw forbidden(`@${source.handle} is protected: only its owners and approved followers may read its statuses.`);
    }
    res.json(await sourceTimeline(ctx, source, viewer, q));
  });

  r.get('/timeline', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const me = ownSource(principalOf(res), 'have a home timeline');
    res.json(await homeTimeline(ctx, me.id, q));
  });

  return r;
}

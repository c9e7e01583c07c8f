import type { Request, Response } from 'express';
import { AppError } from '../../errors/app-error.js';
import { validated } from '../../middleware/validate.js';
import type { Actor } from './session-access.js';
import type { SessionAction } from './session-state.js';
import {
  addEntrySchema,
  feedbackSchema,
  IDEMPOTENCY_KEY,
  listEntriesSchema,
  listSessionsSchema,
  sessionIdSchema,
  startSessionSchema,
} from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';

function actorOf(req: Request): Actor {
  return { userId: req.auth!.userId, role: req.auth!.role };
}

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw AppError.badRequest('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 . _ : -');
  }
  return key;
}

export function createSessionsController(sessions: SessionsService) {
  const idOf = (res: Response) => validated(res, sessionIdSchema).params.id;
  const changeState = (action: SessionAction) =>
    async function changeSessionState(req: Request, res: Response) {
      res.json(await sessions.changeState(actorOf(req), idOf(res), action));
    };

  return {
    async start(req: Request, res: Response) {
      const result = await sessions.start(actorOf(req), validated(res, startSessionSchema).body, idempotencyKeyOf(req));
      if (result.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(result.status).json(result.body);
    },
    async list(req: Request, res: Response) {
      res.json(await sessions.list(actorOf(req), validated(res, listSessionsSchema).query));
    },
    async get(req: Request, res: Response) {
      res.json(await sessions.get(actorOf(req), idOf(res)));
    },
    async remove(req: Request, res: Response) {
      await sessions.remove(actorOf(req), idOf(res));
      res.status(204).end();
    },
    pause: changeState('pause'),
    resume: changeState('resume'),
    end: changeState('end'),
    async addEntry(req: Request, res: Response) {
      const { params, body } = validated(res, addEntrySchema);
      res.status(201).json(await sessions.addEntry(actorOf(req), params.id, body));
    },
    async listEntries(req: Request, res: Response) {
      const { params, query } = validated(res, listEntriesSchema);
      res.json(await sessions.listEntries(actorOf(req), params.id, query));
    },
    async feedback(req: Request, res: Response) {
      const { params, body } = validated(res, feedbackSchema);
      res.status(201).json(await sessions.giveFeedback(actorOf(req), params.id, body));
    },
    async report(req: Request, res: Response) {
      res.json(await sessions.report(actorOf(req), idOf(res)));
    },
  };
}

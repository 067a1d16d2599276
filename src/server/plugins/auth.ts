/**
 * Bearer keys: client keys for the API, admin keys for feedback and reload (admin keys work for
 * the API too). With no key configured the API is open (bind to 127.0.0.1); admin routes never are.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import { ArbiterError, ErrorCodes } from '../../errors.js';

export interface AuthOptions {
  clientKeys: string[];
  adminKeys: string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hooks: `{ onRequest: app.requireRole('client') }`. */
    requireRole(need: 'client' | 'admin'): (req: FastifyRequest) => Promise<void>;
  }
}

export const authPlugin = fp<{ auth?: AuthOptions }>(
  async (app, o) => {
    const clientKeys = new Set(o.auth?.clientKeys ?? []);
    const adminKeys = new Set(o.auth?.adminKeys ?? []);
    const open = clientKeys.size === 0 && adminKeys.size === 0;
    const role = (req: FastifyRequest): 'admin' | 'client' | null => {
      const h = req.headers.authorization;
      const key = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
      if (key && adminKeys.has(key)) return 'admin';
      if (key && clientKeys.has(key)) return 'client';
      return null;
    };
    app.decorate('requireRole', (need: 'client' | 'admin') => async (req: FastifyRequest) => {
      if (open && need === 'client') return;
      const r = role(req);
      if (!r)
        throw new ArbiterError(ErrorCodes.UNAUTHORIZED, 'missing or unknown API key (Authorization: Bearer <key>)', {
          param: 'authorization',
        });
      if (need === 'admin' && r !== 'admin')
        throw new ArbiterError(ErrorCodes.FORBIDDEN, 'this endpoint needs an admin key', { param: 'authorization' });
    });
  },
  { name: 'arbiter-auth' },
);

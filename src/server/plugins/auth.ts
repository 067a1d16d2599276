/**
 * Bearer keys: client keys for the API, admin keys for feedback and reload (admin keys work for
 * the API too). With no key configured the API is open (bind to 127.0.0.1); admin routes never are.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';

import { ArbiterError, ErrorCodes } from '../../errors.js';

export interface AuthOptions {
  clientKeys: string[];
  adminKeys: string[];
}

/** Who made a request: its key's id (a hash prefix, never the key) and role; `open` when no keys are configured. */
export interface Caller {
  keyId: string | undefined;
  role: 'admin' | 'client' | null;
  open: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin's role check (requireRole). */
    caller?: Caller;
  }
  interface FastifyInstance {
    /**
     * onRequest hooks: `{ onRequest: app.requireRole('client') }`. `operator` (the dashboard): an
     * admin key when keys are on; open, like the API, when they are off (bind to 127.0.0.1).
     */
    requireRole(need: 'client' | 'admin' | 'operator'): RoleHook;
  }
}

/**
 * A callback-style hook: it decides synchronously, and an async one would cost every request a
 * promise and a microtask turn (measured with the metrics hook likewise: CHANGELOG, "gateway
 * hooks without promises").
 */
export type RoleHook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** Keys are compared as SHA-256 digests: equal lengths for timingSafeEqual, and no key kept in the clear. */
const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * Keys from a comma-separated environment variable. Set but holding no key (`" , "`) is an error:
 * it would leave the API open while the operator believes it is closed.
 */
export function keysFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env[name];
  if (raw === undefined) return [];
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (!keys.length)
    throw new ArbiterError(
      ErrorCodes.INVALID_CONFIG,
      `${name} is set but holds no key: unset it to run without keys, or list the keys`,
      {
        param: name,
      },
    );
  if (keys.some((k) => /\s/.test(k)))
    throw new ArbiterError(ErrorCodes.INVALID_CONFIG, `${name}: keys must not contain whitespace`, { param: name });
  return keys;
}

export const authPlugin = fp<{ auth?: AuthOptions }>(
  async (app, o) => {
    const clientKeys = (o.auth?.clientKeys ?? []).map(digest);
    const adminKeys = (o.auth?.adminKeys ?? []).map(digest);
    const open = clientKeys.length === 0 && adminKeys.length === 0;
    const identify = (req: FastifyRequest): Caller => {
      const h = req.headers.authorization;
      const m = typeof h === 'string' ? /^bearer[ \t]+(\S+)\s*$/i.exec(h) : null; // the scheme is case-insensitive
      if (!m) return { keyId: undefined, role: null, open };
      const key = digest(m[1]!);
      // every key is compared, each in constant time: the answer's timing says nothing about them
      const admin = adminKeys.reduce((hit, k) => timingSafeEqual(k, key) || hit, false);
      const client = clientKeys.reduce((hit, k) => timingSafeEqual(k, key) || hit, false);
      const role = admin ? 'admin' : client ? 'client' : null;
      return { keyId: role ? key.subarray(0, 8).toString('hex') : undefined, role, open };
    };
    const check = (need: 'client' | 'admin' | 'operator', req: FastifyRequest): void => {
      req.caller = identify(req);
      if (open && need !== 'admin') return;
      if (open)
        throw new ArbiterError(
          ErrorCodes.UNAUTHORIZED,
          'authentication is off, so admin endpoints are closed: start the gateway with ARBITER_ADMIN_KEYS (and ARBITER_CLIENT_KEYS) set to enable keys, then send Authorization: Bearer <admin key>',
          { param: 'authorization' },
        );
      const r = req.caller.role;
      if (!r)
        throw new ArbiterError(ErrorCodes.UNAUTHORIZED, 'missing or unknown API key (Authorization: Bearer <key>)', {
          param: 'authorization',
        });
      if (need !== 'client' && r !== 'admin')
        throw new ArbiterError(ErrorCodes.FORBIDDEN, 'this endpoint needs an admin key', { param: 'authorization' });
    };
    app.decorate('requireRole', (need: 'client' | 'admin' | 'operator'): RoleHook => (req, _reply, done) => {
      try {
        check(need, req);
      } catch (e) {
        done(e as Error);
        return;
      }
      done();
    });
  },
  { name: 'arbiter-auth' },
);

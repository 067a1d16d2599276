import { createGateway, keysFromEnv } from '../server/index.js';
import { ArbiterError, ErrorCodes } from '../errors.js';

export interface ServeOptions {
  config: string;
  host: string;
  port: string;
  bodyLimit: string;
  shutdownMs: string;
}

/** `arbiter serve --config file [--host 127.0.0.1] [--port 8080]`: runs until SIGTERM/SIGINT, then drains. */
export async function serveCommand(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  const bodyLimit = Number(o.bodyLimit);
  const shutdownMs = Number(o.shutdownMs);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--port must be 0..65535, got ${o.port}`, { param: 'port' });
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024)
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--body-limit must be an integer >= 1024, got ${o.bodyLimit}`, {
      param: 'body-limit',
    });
  if (!(shutdownMs >= 0))
    throw new ArbiterError(ErrorCodes.INVALID_ARGUMENT, `--shutdown-ms must be >= 0, got ${o.shutdownMs}`, {
      param: 'shutdown-ms',
    });
  const app = await createGateway(o.config, {
    auth: { clientKeys: keysFromEnv('ARBITER_CLIENT_KEYS'), adminKeys: keysFromEnv('ARBITER_ADMIN_KEYS') },
    bodyLimit,
    logger: process.env.ARBITER_LOG === '1',
  });
  const address = await app.listen({ host: o.host, port });
  process.stderr.write(`arbiter serve: listening on ${address} (config ${o.config})\n`);
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(
      `arbiter serve: ${signal}: no new connections; finishing in-flight requests (at most ${shutdownMs} ms)\n`,
    );
    const force = setTimeout(() => {
      process.stderr.write('arbiter serve: shutdown deadline passed; exiting\n');
      process.exit(1);
    }, shutdownMs);
    force.unref();
    // connections that go idle after their last response are closed as they do
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * The layering check (npm test runs `npm run layers`): the room table of DESIGN.md, as rules.
 * A room may import the rooms listed for it and, since imports only point downward, whatever
 * those may import; the shared helpers (src/errors.ts, files.ts, math.ts, text.ts, paths.ts) are for all.
 * A room's index.ts is its public surface: no room reaches into another's files.
 */
const LAYERS = {
  compute: [],
  embed: ['compute'],
  manifold: ['compute', 'embed'],
  analyze: ['embed', 'manifold'],
  config: [],
  router: ['analyze', 'manifold', 'embed', 'config'],
  providers: ['config'],
  reward: ['compute', 'embed', 'providers'],
  decoding: ['reward', 'providers', 'config'],
  stats: [],
  store: ['config', 'stats'],
  experiments: ['store', 'stats', 'config'],
  engine: ['router', 'providers', 'decoding', 'reward', 'store', 'experiments'],
  learn: ['compute', 'embed', 'manifold', 'analyze', 'config', 'router', 'providers', 'reward', 'decoding', 'stats'],
  eval: ['learn', 'router', 'reward', 'stats'],
  compare: ['engine', 'eval', 'reward', 'stats', 'config'],
  server: ['engine', 'experiments', 'store', 'compare'],
  cli: null, // everything
};

const closure = (room, seen = new Set()) => {
  for (const r of LAYERS[room] ?? []) if (!seen.has(r)) closure(r, seen.add(r));
  return seen;
};
const rooms = Object.keys(LAYERS);

module.exports = {
  forbidden: [
    ...rooms
      .filter((room) => LAYERS[room] !== null)
      .map((room) => {
        const allowed = closure(room);
        const denied = rooms.filter((r) => r !== room && !allowed.has(r));
        return {
          name: `layer-${room}`,
          comment: `src/${room} may import ${[...allowed].join(', ') || 'only the shared helpers'} (DESIGN.md's layer table)`,
          severity: 'error',
          from: { path: `^src/${room}/` },
          to: { path: `^src/(${denied.join('|')})/` },
        };
      }),
    {
      name: 'room-internals',
      comment: "a room's index.ts is its public surface: import another room through it",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/(?!index\\.ts$)', pathNot: ['^src/$1/'] },
    },
    {
      name: 'no-circular',
      comment: 'rooms and modules form no cycle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true, path: '^[.]' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true, // type-only imports count too
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};

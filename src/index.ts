export * from './compute/index.js';
export { ArbiterError, ErrorCodes, isArbiterError, type ErrorCode } from './errors.js';
export * from './models/index.js';
export * from './embed/index.js';
export * from './analyze/index.js';
export * from './manifold/index.js';
export * from './router/index.js';
export * from './engine/index.js';
export * from './eval/index.js';

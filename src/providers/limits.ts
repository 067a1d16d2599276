/** Provider limits when the config does not set them (config/schema.ts documents each). */
export const DEFAULT_STREAM_IDLE_MS = 30_000;
export const DEFAULT_STREAM_TOTAL_MS = 600_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 8 << 20;

/** The rewards a config names (paths relative to the config file), plus the verifier. */
import { dirname, isAbsolute, resolve } from 'node:path';

import type { ComputeBackend } from '../compute/index.js';
import type { ArbiterConfig, ModelRegistry } from '../config/index.js';
import { defaultRewards, type Rewards } from '../decoding/index.js';
import type { Upstream } from '../providers/index.js';
import { HeadReward, JudgeReward, OnnxReward, type OutcomeReward, type ProcessReward } from '../reward/index.js';
import { gatedGenerate } from './generate.js';

export async function loadRewards(
  cfg: ArbiterConfig,
  backend: ComputeBackend,
  upstreams: ReadonlyMap<string, Upstream>,
  registry: ModelRegistry,
): Promise<Rewards> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(cfg.source), p));
  const outcome: Record<string, OutcomeReward> = {};
  const process: Record<string, ProcessReward> = {};
  if (cfg.rewards.head) outcome.head = await HeadReward.load(at(cfg.rewards.head), backend);
  if (cfg.rewards.onnx) outcome.onnx = process.onnx = await OnnxReward.load(at(cfg.rewards.onnx));
  if (cfg.rewards.judge) {
    const { model, maxTokens } = cfg.rewards.judge;
    const gen = gatedGenerate(upstreams, registry);
    outcome.judge = new JudgeReward({
      model,
      maxTokens,
      price: registry.get(model).cost,
      complete: async (req, signal) => (await gen(model, req, signal ?? new AbortController().signal)).response!,
    });
  }
  return defaultRewards({ outcome, process });
}

/** A training record: one prompt with every model's recorded outcome (and cost, and response where known). */
export interface OutcomeRecord {
  prompt: string;
  task?: string;
  outcomes: Record<string, number>;
  costs: Record<string, number>;
  /** Token counts per model where the data has them (JSONL `tokens`): costed with list prices. */
  tokens?: Record<string, { prompt: number; completion: number }>;
  /** Recorded responses per model, where the dataset has them (RouterBench, RouteLLM GSM8K). */
  responses?: Record<string, string>;
  /** file:line, for messages. */
  source: string;
}

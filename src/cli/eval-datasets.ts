/** The datasets `arbiter eval --dataset` reads (named in the command's help without loading it). */
export const EVAL_DATASETS = ['routerbench', 'routellm-mmlu', 'routellm-gsm8k', 'routellm-mtbench', 'jsonl'] as const;

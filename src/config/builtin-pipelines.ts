/**
 * The built-in pipelines, in config form (validated like a user's; a config pipeline with the same
 * id replaces one). Their phases choose models through the router (`auto:<strategy>`), so they
 * work with any set of configured models.
 * - six-phase: a fast model plans, a strong one lists what the answer needs, the answer is
 *   generated, reviewed (PASS or the problems), refined while the review fails (at most twice),
 *   and validated into the final answer. Plan, research, review and refine are optional.
 * - moa: Mixture-of-Agents (Wang et al., 2024) with three proposers in parallel — each routed by
 *   a different strategy, so usually different models — and an aggregator.
 * - critique-revise: draft, critique, revise.
 */
const ANSWER = '{{phases.refine.output || phases.generate.output}}';

export const BUILTIN_PIPELINES = [
  {
    id: 'six-phase',
    description: 'plan → research → generate → review → refine (while the review fails, ≤ 2) → validate',
    output: 'validate',
    phases: [
      {
        name: 'plan',
        model: 'auto:latency',
        critical: false,
        maxTokens: 400,
        instructions:
          'Write a short numbered plan for answering the request below. Do not answer it yet.\n\nRequest:\n{{input}}',
      },
      {
        name: 'research',
        model: 'auto:quality',
        critical: false,
        after: ['plan'],
        maxTokens: 800,
        instructions:
          'List the facts, definitions, edge cases and pitfalls an answer to this request must get right.\n\nRequest:\n{{input}}\n\nPlan:\n{{phases.plan.output}}',
      },
      {
        name: 'generate',
        model: 'auto',
        after: ['plan', 'research'],
        instructions:
          'Answer the request, following the plan and using the notes.\n\nRequest:\n{{input}}\n\nPlan:\n{{phases.plan.output}}\n\nNotes:\n{{phases.research.output}}',
      },
      {
        name: 'review',
        model: 'auto:quality',
        critical: false,
        after: ['generate'],
        maxTokens: 600,
        instructions: `Review the answer to the request. If it needs no change, reply with PASS alone on the first line. Otherwise reply FAIL on the first line, then the problems.\n\nRequest:\n{{input}}\n\nAnswer:\n${ANSWER}`,
      },
      {
        name: 'refine',
        model: 'auto',
        critical: false,
        after: ['review'],
        when: { phase: 'review', notMatches: '^\\s*PASS' },
        loop: { from: 'review', max: 2 },
        instructions: `Rewrite the answer so that it fixes every problem listed. Reply with the new answer only.\n\nRequest:\n{{input}}\n\nAnswer:\n${ANSWER}\n\nProblems:\n{{phases.review.output}}`,
      },
      {
        name: 'validate',
        model: 'auto:quality',
        after: ['refine'],
        instructions: `Check the answer below against the request and reply with the final answer only, corrected where it is wrong.\n\nRequest:\n{{input}}\n\nAnswer:\n${ANSWER}`,
      },
    ],
  },
  {
    id: 'moa',
    description: 'Mixture-of-Agents: three proposers in parallel, one aggregator',
    phases: [
      ...(['quality', 'balanced', 'cost'] as const).map((s) => ({
        name: `propose-${s}`,
        model: `auto:${s}`,
        critical: false,
        temperature: 0.7,
        instructions: '{{input}}',
      })),
      {
        name: 'aggregate',
        model: 'auto:quality',
        after: ['propose-quality', 'propose-balanced', 'propose-cost'],
        instructions:
          'Several assistants answered the request below. Critically combine their answers into one answer that is better than each: keep what is right, drop what is wrong. Reply with the answer only.\n\nRequest:\n{{input}}\n\nAnswer 1:\n{{phases.propose-quality.output}}\n\nAnswer 2:\n{{phases.propose-balanced.output}}\n\nAnswer 3:\n{{phases.propose-cost.output}}',
      },
    ],
  },
  {
    id: 'critique-revise',
    description: 'draft → critique → revise',
    phases: [
      { name: 'draft', model: 'auto', instructions: '{{input}}' },
      {
        name: 'critique',
        model: 'auto:quality',
        critical: false,
        after: ['draft'],
        instructions:
          'List the errors, gaps and unclear parts of this answer to the request.\n\nRequest:\n{{input}}\n\nAnswer:\n{{phases.draft.output}}',
      },
      {
        name: 'revise',
        model: 'auto',
        after: ['critique'],
        instructions:
          'Revise the answer to fix the problems listed. Reply with the revised answer only.\n\nRequest:\n{{input}}\n\nAnswer:\n{{phases.draft.output}}\n\nProblems:\n{{phases.critique.output}}',
      },
    ],
  },
] as const;

/**
 * The built-in agent profiles (a config profile with the same id replaces one). Keywords mark
 * database and web-extraction work, which the router's task set does not tell apart from code
 * and extraction; the rest go by task.
 */
export const BUILTIN_PROFILES = [
  {
    id: 'database',
    description: 'SQL, schemas and queries',
    keywords: ['sql', 'database', 'schema', 'postgres', 'postgresql', 'mysql', 'sqlite', 'index', 'join'],
    pipeline: 'critique-revise',
    requirements: { accuracy: 0.9, speed: 0.3, creativity: 0.2 },
  },
  {
    id: 'web-extraction',
    description: 'pulling fields out of pages and documents',
    keywords: ['scrape', 'html', 'website', 'webpage', 'url', 'css selector', 'xpath'],
    tasks: ['extraction'],
    requirements: { accuracy: 0.7, speed: 0.8, creativity: 0.1 },
  },
  {
    id: 'coding',
    description: 'writing, fixing and explaining code',
    tasks: ['code'],
    pipeline: 'critique-revise',
    requirements: { accuracy: 0.8, speed: 0.4, creativity: 0.3 },
  },
  {
    id: 'analysis',
    description: 'reasoning and mathematics',
    tasks: ['reasoning', 'math'],
    pipeline: 'six-phase',
    minComplexity: 0.6,
    requirements: { accuracy: 0.9, speed: 0.2, creativity: 0.2 },
  },
  {
    id: 'documentation',
    description: 'prose: explanations, documents, answers',
    tasks: ['creative', 'knowledge', 'conversation', 'general'],
    pipeline: 'critique-revise',
    minComplexity: 0.7,
    requirements: { accuracy: 0.6, speed: 0.5, creativity: 0.7 },
  },
] as const;

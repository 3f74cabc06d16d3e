/**
 * The scenario schema of DESIGN §5 in zod 4: one definition that validates what a user wrote
 * (YAML, JSON or code), fills in the defaults of default-values.ts, parses units with the
 * parsers of units.ts, and yields the resolved {@link Scenario}. The same definition, read on
 * its input side, is the JSON Schema editors use ({@link scenarioJsonSchema}).
 *
 * Every object is strict (an unknown key is an error) and every field words its errors as
 * "expected <what is allowed>, got <value>", so each problem reads on its own (the field
 * builders of schema-fields.ts; the sections are in schema-sections.ts). Rules that read more
 * than one section (job size vs buffer size, memory vs buffers) are here; like every
 * cross-field rule they run only when the fields they read are clean, so one bad value is
 * reported once, not again through every rule that reads it.
 *
 * Not checked here: `cost` names (the cost model owns them) and anything that needs a run.
 */

import { z } from 'zod';
import { profilePrqEntries } from '../kernel/profile.js';
import { PROFILE_NAMES } from '../kernel/sva.js';
import { defaultScenario } from './default-values.js';
import {
  DURATION,
  expecting,
  int,
  isObj,
  oneOf,
  PAGE_BYTES,
  quantity,
  strict,
  whenClean,
  written,
} from './schema-fields.js';
import {
  clientsSchema,
  costSchema,
  devicesSchema,
  iommuSchema,
  kernelSchema,
  memorySchema,
  runtimeSchema,
  thresholdsSchema,
  workloadSchema,
} from './schema-sections.js';
import type { RuntimeConfig, Scenario } from './types.js';

const D = defaultScenario;

/** The scenario schema: what a user writes in, a resolved {@link Scenario} out. */
export const scenarioSchema = strict({
  name: z
    .string(expecting('a non-empty string'))
    .min(1, expecting('a non-empty string'))
    .default(D.name)
    .describe('Scenario name, shown in reports'),
  profile: oneOf(PROFILE_NAMES)
    .default(D.profile)
    .describe('Kernel behaviour profile: v5.8 or current'),
  seed: int(0, 0xffff_ffff).default(D.seed).describe('Seed of every random stream, 0..2^32 − 1'),
  duration: quantity(DURATION, 0, true)
    .prefault(written(DURATION, D.duration))
    .describe('Simulated time to run: a duration (20ms, 500us, 1s, or ns)'),
  iommu: iommuSchema.prefault({}).describe('The VT-d units'),
  devices: devicesSchema
    .prefault([{}])
    .describe('Accelerator groups; rids assigned in order unless a group gives rid'),
  clients: clientsSchema.prefault({}).describe('The SVA client processes'),
  workload: workloadSchema.prefault({}).describe('The jobs the clients submit'),
  memory: memorySchema.prefault({}).describe('Simulated physical memory'),
  kernel: kernelSchema
    .prefault({})
    .describe("Kernel bugs of the profile's era to reproduce (default: none)"),
  cost: costSchema.prefault({}).describe('Overrides of the cost model by name, in ns'),
  thresholds: thresholdsSchema()
    .prefault({})
    .describe('Upper bounds the run must meet: <kind>.<stat> durations and counter counts'),
  runtime: runtimeSchema
    .prefault({})
    .describe('How a threaded run uses the machine (never changes a result)'),
})
  .superRefine((v, ctx) => {
    if (v.kernel.iopfAttachRegression && v.profile !== 'current') {
      ctx.addIssue({
        code: 'custom',
        path: ['kernel', 'iopfAttachRegression'],
        message: `expected profile current (a v6.16 bug), got profile ${v.profile}`,
        input: true,
      });
    }
  })
  .superRefine(
    (v, ctx) => {
      const size = v.clients.buffers.size;
      if (v.workload.jobBytes > size) {
        ctx.addIssue({
          code: 'custom',
          path: ['workload', 'jobBytes'],
          message: `expected at most clients.buffers.size (${size} bytes), got ${v.workload.jobBytes} bytes`,
          input: v.workload.jobBytes,
        });
      }
    },
    whenClean(['workload', 'jobBytes'], ['clients', 'buffers', 'size']),
  )
  .superRefine(
    (v, ctx) => {
      const c = v.clients;
      const bufferFrames = (c.count * c.buffers.count * c.buffers.size) / PAGE_BYTES;
      if (v.memory.frames < bufferFrames) {
        ctx.addIssue({
          code: 'custom',
          path: ['memory', 'frames'],
          message:
            `${v.memory.frames} frames cannot hold the clients' buffers (${c.count} × ` +
            `${c.buffers.count} × ${c.buffers.size} bytes = ${bufferFrames} frames, ` +
            'page tables not counted); raise memory.frames or shrink clients',
          input: v.memory.frames,
        });
      }
    },
    whenClean(['memory'], ['clients']),
  )
  .transform(
    (v): Scenario => ({
      name: v.name,
      profile: v.profile,
      seed: v.seed,
      duration: v.duration,
      iommu: {
        units: v.iommu.units,
        pasidBits: v.iommu.pasidBits,
        srs: v.iommu.srs,
        dit: v.iommu.dit,
        prs: v.iommu.prs,
        pds: v.iommu.pds,
        // left out: the PRQ the profile's kernel allocates (v5.8: PRQ_ORDER 0, 128 entries)
        prqEntries: v.iommu.prqEntries ?? profilePrqEntries(v.profile),
        iotlb: v.iommu.iotlb,
      },
      devices: v.devices,
      clients: v.clients,
      workload: v.workload,
      memory: v.memory,
      kernel: v.kernel,
      cost: v.cost,
      thresholds: v.thresholds,
      runtime: v.runtime satisfies RuntimeConfig,
    }),
  );

/** Appends a field's scalar default to its one-line description, throughout `node`. */
function noteDefaults(node: unknown): void {
  if (Array.isArray(node)) {
    for (const v of node) noteDefaults(v);
    return;
  }
  if (!isObj(node)) return;
  const d = node.default;
  if (
    typeof node.description === 'string' &&
    d !== undefined &&
    (typeof d !== 'object' || d === null)
  ) {
    node.description = `${node.description}; default: ${String(d)}`;
  }
  for (const v of Object.values(node)) noteDefaults(v);
}

/**
 * The JSON Schema (draft 2020-12) of a scenario as a user writes it, with a one-line
 * description and the default of every field, for editors and `svasim schema`.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' });
  noteDefaults(schema);
  const { $schema, ...rest } = schema as Record<string, unknown>;
  return {
    $schema,
    title: 'svasim scenario',
    description:
      'A scenario of svasim, the VT-d SVA simulator (DESIGN §5): every field optional, ' +
      'units written out (20ms, 1MiB, 200k/s) or plain numbers (ns, bytes, per second).',
    ...rest,
  };
}

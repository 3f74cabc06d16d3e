import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type EmitOptions,
  K8S_CLAIM_PLACEHOLDER,
  K8S_IMAGE_PLACEHOLDER,
  k8sJob,
  shellQuote,
  slurmScript,
} from '../../src/sweep/emit.js';

const base: EmitOptions = {
  dir: '/shared/runs/sweep-fault-storm',
  cwd: '/shared/runs',
  points: 8,
  tasks: 8,
  cpus: 1,
  command: "/usr/bin/node '/opt/svasim dir/bin/svasim.mjs'",
  name: 'sweep-fault-storm',
  image: K8S_IMAGE_PLACEHOLDER,
  claim: K8S_CLAIM_PLACEHOLDER,
};

const sbatch = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('#SBATCH '))
    .map((l) => l.slice('#SBATCH '.length));

describe('shellQuote()', () => {
  it('leaves plain words and quotes the rest', () => {
    expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellQuote("a b'c")).toBe(`'a b'\\''c'`);
  });
});

describe('slurmScript()', () => {
  it('is a job array of one task per point, logs in the folder, the folder by absolute path', () => {
    const text = slurmScript(base);
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(sbatch(text)).toEqual([
      '--job-name=svasim-sweep-fault-storm',
      '--array=0-7',
      '--output=/shared/runs/sweep-fault-storm/logs/%A_%a.out',
      '--chdir=/shared/runs',
      '--ntasks=1',
      '--cpus-per-task=1',
    ]);
    // the array index selects the point through SLURM_ARRAY_TASK_ID in the environment
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      "exec /usr/bin/node '/opt/svasim dir/bin/svasim.mjs' sweep --out /shared/runs/sweep-fault-storm --quiet",
    );
  });

  it('with fewer tasks than points, gives each task its shard, its CPUs and a throttle', () => {
    const text = slurmScript({ ...base, tasks: 3, cpus: 2, parallelism: 2 });
    expect(sbatch(text)).toContain('--array=0-2%2');
    expect(sbatch(text)).toContain('--cpus-per-task=2');
    expect(text).toContain(
      `sweep --out /shared/runs/sweep-fault-storm --quiet --shard "\${SLURM_ARRAY_TASK_ID}/3" -j 2\n`,
    );
  });

  it('never asks for more tasks than points', () => {
    expect(sbatch(slurmScript({ ...base, tasks: 20 }))).toContain('--array=0-7');
  });
});

describe('k8sJob()', () => {
  it('is an Indexed Job over the shared volume, placeholders until told', () => {
    const job = parse(k8sJob({ ...base, parallelism: 4 }));
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata.name).toBe('svasim-sweep-fault-storm');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.completions).toBe(8);
    expect(job.spec.parallelism).toBe(4);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    const [c] = job.spec.template.spec.containers;
    expect(c.image).toBe(K8S_IMAGE_PLACEHOLDER);
    expect(c.workingDir).toBe('/shared/runs');
    // JOB_COMPLETION_INDEX in the environment selects the point
    expect(c.command).toEqual([
      '/bin/sh',
      '-c',
      "exec /usr/bin/node '/opt/svasim dir/bin/svasim.mjs' sweep --out /shared/runs/sweep-fault-storm --quiet",
    ]);
    expect(c.volumeMounts).toEqual([{ name: 'sweep', mountPath: '/shared/runs' }]);
    expect(job.spec.template.spec.volumes).toEqual([
      { name: 'sweep', persistentVolumeClaim: { claimName: K8S_CLAIM_PLACEHOLDER } },
    ]);
  });

  it('shards with fewer completions, and takes the image and claim given', () => {
    const job = parse(
      k8sJob({
        ...base,
        tasks: 2,
        cpus: 4,
        image: 'reg/svasim:1',
        claim: 'runs',
        command: 'svasim',
      }),
    );
    expect(job.spec.completions).toBe(2);
    expect(job.spec.parallelism).toBe(2);
    const [c] = job.spec.template.spec.containers;
    expect(c.image).toBe('reg/svasim:1');
    expect(c.command[2]).toBe(
      `exec svasim sweep --out /shared/runs/sweep-fault-storm --quiet --shard "\${JOB_COMPLETION_INDEX}/2" -j 4`,
    );
    expect(c.resources).toEqual({ requests: { cpu: '4' } });
    expect(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe('runs');
  });
});

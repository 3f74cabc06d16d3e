/**
 * Cluster scripts for a sweep (`svasim sweep … --emit slurm|k8s`): a Slurm job array or a
 * Kubernetes Indexed Job whose tasks each run `svasim sweep --out DIR` on the folder the
 * manifest was written to. A task reads the grid from `DIR/sweep.json` and picks its points
 * from its array index (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX) — one point per task, or,
 * with fewer tasks than points, the shard `--shard <index>/<tasks>`. Nothing coordinates the
 * tasks; the folder, on storage every task sees, is the only shared state.
 *
 * Paths in the scripts are absolute (the folder, the working folder a relative scenario file
 * is found from, and by default node and svasim's own entry point for Slurm). Not here:
 * submitting anything.
 */

/** What a cluster script needs to know. */
export interface EmitOptions {
  /** Absolute path of the sweep folder. */
  dir: string;
  /** Absolute working folder (where a relative scenario path is found). */
  cwd: string;
  /** Points in the sweep. */
  points: number;
  /** Array tasks (Slurm) or completions (Kubernetes); each runs a shard when below `points`. */
  tasks: number;
  /** Most tasks at once; undefined: no limit (Slurm) or all (Kubernetes). */
  parallelism?: number;
  /** CPUs per task, and the points a sharded task runs at once. */
  cpus: number;
  /** The command that starts svasim, as shell words already quoted where needed. */
  command: string;
  /** A name for the job (made safe for each scheduler). */
  name: string;
  /** Kubernetes: the container image holding svasim. */
  image: string;
  /** Kubernetes: the PersistentVolumeClaim holding the working folder. */
  claim: string;
}

/** Placeholders the Kubernetes manifest carries until --image and --claim are given. */
export const K8S_IMAGE_PLACEHOLDER = 'REPLACE-WITH-AN-IMAGE-THAT-HAS-SVASIM';
export const K8S_CLAIM_PLACEHOLDER = 'REPLACE-WITH-THE-SHARED-VOLUME-CLAIM';

/** `text` quoted for a POSIX shell (left bare when it needs no quoting). */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The svasim arguments one task runs, `${index}` standing for its array index variable. */
function taskArgs(o: EmitOptions, indexVar: string): string[] {
  const args = ['sweep', '--out', shellQuote(o.dir), '--quiet'];
  // one point per task: the index variable in the environment selects it (select.ts)
  if (o.tasks < o.points)
    args.push('--shard', `"\${${indexVar}}/${o.tasks}"`, '-j', String(o.cpus));
  return args;
}

/** A name of letters, digits and '-', lower case, at most `max` characters. */
function dnsName(name: string, max: number): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (s || 'sweep').slice(0, max).replace(/-+$/, '');
}

/** The sbatch script of a job array running the sweep (`sbatch DIR/sweep.sbatch`). */
export function slurmScript(o: EmitOptions): string {
  const last = Math.min(o.tasks, o.points) - 1;
  const throttle = o.parallelism !== undefined ? `%${o.parallelism}` : '';
  return [
    '#!/bin/bash',
    `# svasim sweep: ${o.points} points in ${o.dir}, written by \`svasim sweep --emit slurm\`.`,
    `# Submit with: sbatch ${shellQuote(`${o.dir}/sweep.sbatch`)}  (resubmitting runs only the points not done)`,
    `#SBATCH --job-name=${dnsName(`svasim-${o.name}`, 60)}`,
    `#SBATCH --array=0-${last}${throttle}`,
    `#SBATCH --output=${o.dir}/logs/%A_%a.out`,
    `#SBATCH --chdir=${o.cwd}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${o.cpus}`,
    'set -euo pipefail',
    `exec ${o.command} ${taskArgs(o, 'SLURM_ARRAY_TASK_ID').join(' ')}`,
    '',
  ].join('\n');
}

/** YAML's double-quoted form of a string. */
const q = (s: string) => JSON.stringify(s);

/**
 * The Kubernetes Indexed Job running the sweep (`kubectl apply -f DIR/sweep-job.yaml`): the
 * claim is mounted at the working folder's path, so the folder and a relative scenario file
 * are where they are on this machine.
 */
export function k8sJob(o: EmitOptions): string {
  const completions = Math.min(o.tasks, o.points);
  const script = `exec ${o.command} ${taskArgs(o, 'JOB_COMPLETION_INDEX').join(' ')}`;
  return [
    `# svasim sweep: ${o.points} points in ${o.dir}, written by \`svasim sweep --emit k8s\`.`,
    '# Each pod runs the points of its JOB_COMPLETION_INDEX. The volume claim must hold the',
    `# working folder ${o.cwd} (it is mounted at that path); apply with: kubectl apply -f <this file>`,
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    `  name: ${dnsName(`svasim-${o.name}`, 52)}`,
    'spec:',
    '  completionMode: Indexed',
    `  completions: ${completions}`,
    `  parallelism: ${Math.min(o.parallelism ?? completions, completions)}`,
    '  backoffLimitPerIndex: 1',
    `  maxFailedIndexes: ${completions}`,
    '  template:',
    '    spec:',
    '      restartPolicy: Never',
    '      containers:',
    '        - name: svasim',
    `          image: ${q(o.image)}`,
    `          workingDir: ${q(o.cwd)}`,
    `          command: ["/bin/sh", "-c", ${q(script)}]`,
    '          resources:',
    `            requests: { cpu: ${q(String(o.cpus))} }`,
    '          volumeMounts:',
    '            - name: sweep',
    `              mountPath: ${q(o.cwd)}`,
    '      volumes:',
    '        - name: sweep',
    '          persistentVolumeClaim:',
    `            claimName: ${q(o.claim)}`,
    '',
  ].join('\n');
}

// One scenario run in a process of its own, so the peak RSS measured is the run's own.
// Usage: node bench/clients-run.mjs 'SCENARIO-JSON'   (after `npm run build`); prints JSON.
const scenario = JSON.parse(process.argv[2] ?? '{}');
const { createScenarioRun } = await import('../dist/machine/run.js');
const t0 = process.hrtime.bigint();
const r = createScenarioRun(scenario).execute();
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(
  JSON.stringify({
    clients: r.scenario.clients.count,
    wallMs,
    rssMiB: process.resourceUsage().maxRSS / 1024,
    simulatedNs: r.simulatedNs,
    binds: (r.runTotals ?? r.totals).binds,
    jobs: (r.runTotals ?? r.totals).jobs,
    violations: r.invariants.violations.length,
  }),
);

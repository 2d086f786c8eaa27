// Reads `npm audit --omit=dev --json` on stdin. Fails (exit 1) when production dependencies have high or
// critical advisories; when the registry cannot answer (some mirrors refuse the advisory endpoint), says so
// and passes, since there is nothing to judge.
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  let report;
  try {
    report = JSON.parse(input);
  } catch {
    report = null;
  }
  const counts = report?.metadata?.vulnerabilities;
  if (!counts) {
    const why = report?.message ?? report?.error?.summary ?? (input.trim().slice(0, 200) || 'no output');
    console.log(`npm audit unavailable, not judged: ${why}`);
    return;
  }
  console.log(`production advisories: ${['critical', 'high', 'moderate', 'low'].map((k) => `${counts[k] ?? 0} ${k}`).join(', ')}`);
  const serious = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === 'high' || v.severity === 'critical');
  for (const v of serious) console.log(`  ${v.severity}: ${v.name} ${v.range ?? ''}${v.fixAvailable ? ' (fix available)' : ''}`);
  if ((counts.high ?? 0) + (counts.critical ?? 0) > 0) process.exitCode = 1;
});

// A node:test reporter that keeps skipped tests honest. Every `node --test` run of the
// suite uses it next to the spec reporter:
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//        --test-reporter=tests/lib/skip-policy.mjs --test-reporter-destination=stderr FILES
//
// It lists every skipped and `todo` test with its reason. With CI=true (what CI sets) a
// skip fails the run unless its reason starts with "cannot run in CI: " (the test says
// why the CI machine cannot run it), and a `todo` test always fails the run: in CI a
// known bug must be fixed or asserted, not hidden. Outside CI skips stay skips (a
// developer machine may lack PostgreSQL or root), but they are listed.

/** The prefix a skip reason needs to be accepted under CI=true. */
export const CI_CANNOT_RUN = 'cannot run in CI: ';

// What node:test itself gives as the reason for a test that a command-line filter
// (--test-name-pattern, --test-only) left out: not the test's own skip.
const FILTERED = new Set(['test name does not match pattern', "'only' option not set"]);

export default async function* skipPolicy(source) {
  const ci = process.env.CI === 'true';
  const refused = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, skip, todo, file } = event.data;
    const where = `${file ? `${file.split('/').slice(-2).join('/')}: ` : ''}${name}`;
    if (todo !== undefined) {
      const why = typeof todo === 'string' ? todo : '(no reason given)';
      yield `# todo: ${where}: ${why}\n`;
      if (ci) refused.push(`todo test under CI=true (fix the bug or assert it): ${where}: ${why}`);
    } else if (skip !== undefined && !FILTERED.has(skip)) {
      const why = typeof skip === 'string' ? skip : '(no reason given)';
      yield `# skipped: ${where}: ${why}\n`;
      if (ci && !why.startsWith(CI_CANNOT_RUN)) {
        refused.push(`skipped under CI=true without saying why CI cannot run it: ${where}: ${why}`);
      }
    }
  }
  for (const r of refused) yield `FAIL: ${r}\n`;
  if (refused.length) process.exitCode = 1;
}

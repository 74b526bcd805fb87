// Child process for the resume test: builds a database with the options in argv[2] (JSON) and
// prints `trained <n>` after every record it commits.
import { initBackend } from '@metad2a/core';
import { buildDatabase, getRecipe } from '../../src';

(async () => {
  try {
    await initBackend({ prefer: 'native' });
  } catch {
    await initBackend({ prefer: 'cpu' });
  }
  const o = JSON.parse(process.argv[2]!);
  await buildDatabase({
    ...o,
    recipe: getRecipe(o.recipe.base, o.recipe.overrides),
    onProgress: (p) => {
      if (p.accuracy !== undefined) process.stdout.write(`trained ${p.trained}\n`);
    },
  });
  process.stdout.write('finished\n');
})().catch((e) => {
  process.stderr.write(String(e?.stack ?? e));
  process.exit(1);
});

/**
 * `npm run keys:rotate`: staged rotation of the EdDSA signing keys (docs/OPERATIONS.md §1).
 * The new key is published at once and signs only once every instance and every JWKS
 * cache has it; the key it replaces keeps verifying until its tokens have expired. Every
 * instance switches by itself at the activation time: nothing else to run.
 */
import { SigningKeyStore, type KeyStatus } from '../modules/auth/index.js';
import { runCli } from './cli-context.js';

const print = (line = '') => process.stdout.write(`${line}\n`);

function describeStage({ stage, activatesAt, retireAt }: KeyStatus, nextActivation: Date | undefined): string {
  const retires = retireAt ? `verifies until ${retireAt.toISOString()}` : 'verifies until a newer key takes over';
  if (stage === 'next') return `published, signs from ${activatesAt.toISOString()}${retireAt ? `; a newer next key replaces it, then it ${retires}` : ''}`;
  if (stage === 'current') return nextActivation ? `signs until ${nextActivation.toISOString()}, then ${retires}` : 'signs now';
  return `no longer signs; ${retires}`;
}

await runCli(async ({ config, models }) => {
  const keys = SigningKeyStore.fromConfig(models, config);
  const kid = await keys.rotate();
  const stages = await keys.stages();
  const added = stages.find((key) => key.kid === kid)!;
  const nextActivation = stages.find((key) => key.stage === 'next')?.activatesAt;
  const inS = Math.round((added.activatesAt.getTime() - Date.now()) / 1000);

  print(`new signing key ${kid}: published now, signs from ${added.activatesAt.toISOString()} (in ${inS} s)`);
  print('signing keys, all published in /.well-known/jwks.json:');
  for (const key of stages) print(`  ${key.stage.padEnd(8)}  ${key.kid}  ${describeStage(key, nextActivation)}`);
  print('Every instance switches to the next key by itself at its activation time; no one is signed out.');
});

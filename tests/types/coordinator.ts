// keygate/coordinator: the Durable Object class and its RPC shapes type-check; misuses do not.
import { KeygateCoordinator, type CommitAnswer, type CoordinatorHead, type PollAnswer } from 'keygate/coordinator';

declare const c: KeygateCoordinator;
export const head: CoordinatorHead | null = c.head();
const answer: PollAnswer = c.poll({ revision: 1, payloadSha256: 'x' });
if (answer.status === 'deltas') {
  const deltas: readonly string[] = answer.deltas;
  void deltas;
}
export async function commit(): Promise<number | undefined> {
  const r: CommitAnswer = await c.commit({ kind: 'delta', revision: 2, payloadSha256: 'y', base: { revision: 1, payloadSha256: 'x' }, bytes: new Uint8Array() });
  return 'error' in r ? r.current_revision : r.revision;
}
// @ts-expect-error a state is { revision, payloadSha256 }
c.poll(1);
// @ts-expect-error an update's bytes are a Uint8Array
c.commit({ kind: 'full', revision: 2, payloadSha256: 'y', base: null, bytes: 'text' });

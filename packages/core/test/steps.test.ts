import { driveSteps, isMetaD2AException, type Steps } from '../src';

function* counting(n: number, log: string[]): Steps<number, string> {
  try {
    for (let i = 1; i <= n; i++) {
      log.push(`step ${i}`);
      yield i;
    }
    return 'done';
  } finally {
    log.push('finally');
  }
}

describe('driveSteps', () => {
  it('runs every step, reports each, and resolves with the result', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    await expect(driveSteps(counting(3, log), 'count', { onProgress: (p) => seen.push(p) })).resolves.toBe('done');
    expect(seen).toEqual([1, 2, 3]);
    expect(log).toEqual(['step 1', 'step 2', 'step 3', 'finally']);
  });

  it('hands the event loop back between steps', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('other work')); // queued before the drive starts: runs only if step 1 hands the loop back
    await driveSteps(counting(2, []), 'count', { onProgress: (p) => order.push(`step ${p}`) });
    expect(order).toEqual(['step 1', 'other work', 'step 2']);
  });

  it('an abort stops it at the next step with an Aborted error, after the generator cleaned up', async () => {
    const log: string[] = [];
    const ctl = new AbortController();
    const err = await driveSteps(counting(5, log), 'count', { signal: ctl.signal, onProgress: (p) => p === 2 && ctl.abort(new Error('user pressed stop')) }).catch(
      (e: unknown) => e,
    );
    expect(isMetaD2AException(err, 'Aborted')).toBe(true);
    expect((err as Error).message).toBe("count: got aborted by the caller's AbortSignal (user pressed stop)");
    expect(log).toEqual(['step 1', 'step 2', 'finally']);
    const before = new AbortController();
    before.abort();
    const log2: string[] = [];
    await expect(driveSteps(counting(5, log2), 'count', { signal: before.signal })).rejects.toThrow("count: got aborted by the caller's AbortSignal");
    expect(log2).toEqual([]);
  });

  it('an error of a step rejects with that error', async () => {
    function* failing(): Steps<number, void> {
      yield 1;
      throw new Error('step 2 broke');
    }
    await expect(driveSteps(failing(), 'x')).rejects.toThrow('step 2 broke');
  });
});

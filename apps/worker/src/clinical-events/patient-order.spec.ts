import { PatientOrder } from './patient-order';

const tick = () => new Promise((r) => setImmediate(r));

describe('PatientOrder', () => {
  it('runs work for a patient after the work already queued for that patient, and other patients at once', async () => {
    const order = new PatientOrder();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = order.run(['A'], async () => {
      await gate;
      log.push('A1');
    });
    const batch = order.run(['B', 'A'], async () => log.push('A2+B1'));
    const other = order.run(['C'], async () => log.push('C1'));
    await other;
    await tick();
    expect(log).toEqual(['C1']);
    release();
    await Promise.all([first, batch]);
    expect(log).toEqual(['C1', 'A1', 'A2+B1']);
    expect(order.size).toBe(0);
  });

  it('keeps going after a failure: the next work for the patient still runs', async () => {
    const order = new PatientOrder();
    const failed = order.run(['A'], async () => {
      throw new Error('database down');
    });
    const next = order.run(['A'], async () => 'ran');
    await expect(failed).rejects.toThrow('database down');
    await expect(next).resolves.toBe('ran');
  });
});

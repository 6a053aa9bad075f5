import { checkCoverage, expectedDevices } from './device-coverage.js';

const device = (deviceId: string, accountId = 'bob') => ({ deviceId, accountId });

describe('the device-coverage rule', () => {
  it('accepts keys that name exactly the expected devices, in any order', () => {
    const expected = [device('b1'), device('b2'), device('a2', 'alice')];
    expect(checkCoverage(expected, ['a2', 'b2', 'b1'])).toEqual({
      kind: 'covered',
      devices: expected,
    });
  });

  it('names every expected device that has no key', () => {
    const result = checkCoverage([device('b1'), device('b2')], ['b1']);
    expect(result).toEqual({ kind: 'missing', missing: [device('b2')] });
  });

  it('names every key for a device that is not expected, even when some are also missing', () => {
    const result = checkCoverage([device('b1'), device('b2')], ['b1', 'gone']);
    expect(result).toEqual({ kind: 'stale', staleDeviceIds: ['gone'], missing: [device('b2')] });
  });

  it('expects the sender’s other devices but never the sending device itself', () => {
    const current = [device('a1', 'alice'), device('a2', 'alice'), device('b1')];
    expect(expectedDevices(current, 'a1').map((entry) => entry.deviceId)).toEqual(['a2', 'b1']);
  });

  it('counts a device listed twice (sender writing to themself) once', () => {
    const current = [device('a2', 'alice'), device('a2', 'alice')];
    expect(expectedDevices(current, 'a1')).toHaveLength(1);
  });
});

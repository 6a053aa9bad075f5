import { jest } from '@jest/globals';
import { epochMs, waitUntil } from './clock.js';

describe('epochMs', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is the wall clock, to within a millisecond', () => {
    const reading = epochMs();
    expect(Math.abs(reading - Date.now())).toBeLessThanOrEqual(1.5);
  });

  it('follows a step of the wall clock (a host’s clock sync) within a second or so', async () => {
    epochMs();
    const realNow = Date.now.bind(Date);
    // The host's clock jumps five seconds ahead.
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 5000);
    await waitUntil('epochMs to follow the step', () => epochMs() - realNow() > 4900, 3000);
    expect(Math.abs(epochMs() - Date.now())).toBeLessThanOrEqual(1.5);
  });
});

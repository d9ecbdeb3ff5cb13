import { describe, expect, it } from 'vitest';
import { WAKE_TIMER_UNIT, calendarSpec } from './wake-timer.js';

describe('calendarSpec', () => {
  it('names one instant in UTC, rounded up to the second (never before the work is due)', () => {
    expect(calendarSpec(Date.UTC(2026, 11, 2, 9, 30, 5))).toBe('2026-12-02 09:30:05 UTC');
    expect(calendarSpec(Date.UTC(2026, 11, 2, 9, 30, 5) + 1)).toBe('2026-12-02 09:30:06 UTC');
    expect(calendarSpec(Date.UTC(2026, 11, 31, 23, 59, 59) + 999)).toBe('2027-01-01 00:00:00 UTC');
  });

  it('the timer is named after the service it starts', () => {
    expect(WAKE_TIMER_UNIT.replace(/\.timer$/, '.service')).toBe('bound-imaged.service');
  });
});

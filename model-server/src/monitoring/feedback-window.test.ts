import { describe, expect, it } from 'vitest';
import { FeedbackWindow } from './feedback-window.ts';

describe('FeedbackWindow', () => {
  it('computes MAE and RMSE of the samples', () => {
    const window = new FeedbackWindow(10);
    window.add(10, 12);
    window.add(10, 6);
    expect(window.stats()).toEqual({ samples: 2, mae: 3, rmse: Math.sqrt(10) });
  });

  it('keeps only the last samples', () => {
    const window = new FeedbackWindow(2);
    window.add(0, 100);
    window.add(0, 1);
    window.add(0, 3);
    expect(window.stats()).toEqual({ samples: 2, mae: 2, rmse: Math.sqrt(5) });
  });

  it('stays exact over many wraps', () => {
    const window = new FeedbackWindow(3);
    for (let index = 0; index < 10_000; index++) window.add(index * 0.1, index * 0.1 + (index % 3));
    expect(window.stats().mae).toBeCloseTo(1, 9);
  });

  it('reports no error when empty', () => {
    expect(new FeedbackWindow(3).stats()).toEqual({ samples: 0, mae: null, rmse: null });
  });
});

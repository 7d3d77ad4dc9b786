import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Budget } from './budget.js';

it('admits takes in order while they fit, and a too-large one once nothing is held', async () => {
  const budget = new Budget(10);
  const order: string[] = [];
  await budget.take(6);
  const big = budget.take(20).then(() => order.push('big'));
  const small = budget.take(1).then(() => order.push('small'));
  await Promise.resolve();
  assert.deepEqual(order, [], 'the large take waits, and the small one waits behind it');
  budget.give(6);
  await big;
  assert.equal(budget.inUse, 20);
  budget.give(20);
  await small;
  assert.deepEqual(order, ['big', 'small']);
  assert.equal(
    await budget.with(1, async () => budget.inUse),
    2,
    'with() holds the amount while its work runs',
  );
  assert.equal(budget.inUse, 1);
  await assert.rejects(budget.with(3, () => Promise.reject(new Error('x'))));
  assert.equal(budget.inUse, 1, 'and gives it back when the work fails');
});

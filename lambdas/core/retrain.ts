/**
 * The retraining policy: every newly stored label counts; when a task has gathered
 * `retrain.minNewLabels` since its last run, exactly one `RetrainRequested` goes out. The counter's
 * conditional reset decides which of several concurrent ingest Lambdas sends it, so a burst of
 * batches crossing the threshold together still requests one run.
 */
import type { TaskDefinition } from './task.js';
import type { EventPublisher, RetrainCounter, SystemEvent } from '../ports/index.js';

export async function countNewLabels(
  outcomesStored: Record<string, number>,
  tasks: readonly TaskDefinition[],
  deps: { counter: RetrainCounter; publisher: EventPublisher },
): Promise<SystemEvent[]> {
  const requests: SystemEvent[] = [];
  for (const [name, n] of Object.entries(outcomesStored)) {
    const task = tasks.find((t) => t.name === name);
    if (!task || n <= 0) continue;
    const total = await deps.counter.add(name, n);
    const threshold = task.retrain.minNewLabels;
    if (total >= threshold && (await deps.counter.claim(name, threshold))) {
      requests.push({
        source: 'distillery',
        detailType: 'RetrainRequested',
        detail: { task: name, reason: `${total} new labelled outcomes since the last retraining request (threshold ${threshold})` },
      });
    }
  }
  if (requests.length) await deps.publisher.publish(requests);
  return requests;
}

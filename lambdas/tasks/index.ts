import { validateTask, type TaskDefinition } from '../core/task.js';
import { invoiceApproval } from './invoice-approval.js';
import { invoiceDispute } from './invoice-dispute.js';
import { queryRouting } from './query-routing.js';

export const builtInTasks: readonly TaskDefinition[] = [invoiceApproval, invoiceDispute, queryRouting];
builtInTasks.forEach(validateTask);

export function taskByName(name: string, tasks: readonly TaskDefinition[] = builtInTasks): TaskDefinition | undefined {
  return tasks.find((t) => t.name === name);
}

export { invoiceApproval, invoiceDispute, queryRouting };

/** Finds a Python interpreter that has the trainer's packages, and says exactly what is missing when none does. */
import { spawnSync } from 'node:child_process';

const PROBE = 'import importlib.util\nmissing=[m for m in ("torch","numpy","onnx") if importlib.util.find_spec(m) is None]\nprint(",".join(missing))';

let cached: string | undefined;

export function findPython(preferred?: string): string {
  if (cached && !preferred) return cached;
  const candidates = [preferred, 'python3', '/usr/bin/python3', 'python'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', PROBE], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) {
      tried.push(`${py}: ${r.error ? 'not found' : (r.stderr || 'failed').trim().split('\n').pop()}`);
      continue;
    }
    const missing = r.stdout.trim();
    if (!missing) {
      if (!preferred) cached = py;
      return py;
    }
    tried.push(`${py}: lacks ${missing}`);
  }
  throw new Error(
    `no Python interpreter with torch, numpy and onnx was found (${tried.join('; ')}). ` +
      'On Debian: apt-get install python3-torch python3-onnx python3-numpy; ' +
      'or set DISTILLERY_PYTHON to an interpreter that has them.',
  );
}

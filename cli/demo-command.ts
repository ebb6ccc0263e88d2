import { ConfigError } from '../core/config.js';
import { scenarioFactories } from '../devices-sim/index.js';
import { UsageError, parseCommandArgs } from './args.js';

export const demoUsage = `  anju demo <scenario> <target> [--in DURATION] [--api URL] [--token T]
                      play a scenario on the running demo community, e.g. anju demo fire b3
                      (a kitchen fire in building 3); no credentials file needed
      scenario              ${Object.keys(scenarioFactories).join(', ')}
      target                a building (b1–b4) or a device id (chundu-b3-sd-301)
      --in DURATION         start later, e.g. 30s, 2m (default now)
      --api URL             the running platform (default http://localhost:<ANJU_HTTP_PORT>)
      --token T             an admin API token (default ANJU_ADMIN_TOKEN)`;

/**
 * `anju demo fire b3`: asks the running platform (POST /api/demo/scenarios) to play a scenario on
 * its in-process demo fleet, whose device secrets never leave that process.
 */
export async function runDemoCommand(
  argv: string[], usage: string,
  deps: { httpPort: number; adminToken?: string; stdout: { write(text: string): boolean }; fetch?: typeof fetch },
): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { in: { type: 'string' }, api: { type: 'string' }, token: { type: 'string' } }, usage, { positionals: true });
  const [kind, target, ...extra] = positionals;
  if (!kind || !target || extra.length > 0) throw new UsageError('give a scenario and a target, e.g. anju demo fire b3', usage);
  if (values.in !== undefined && !/^\d+(\.\d+)?[smhd]$/.test(values.in)) throw new UsageError('--in must look like 30s, 2m or 1h', usage);
  const token = values.token ?? deps.adminToken;
  if (!token) throw new ConfigError('anju demo needs an admin API token: --token T, or ANJU_ADMIN_TOKEN (the token printed on the first start; `anju token` mints one while Anju is stopped)');
  const api = (values.api ?? `http://localhost:${deps.httpPort || 8080}`).replace(/\/+$/, '');
  const scenario = `${kind}:${target}${values.in ? `@+${values.in}` : ''}`;
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(`${api}/api/demo/scenarios`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ scenario }),
    });
  } catch (err) {
    throw new ConfigError(`cannot reach Anju at ${api}: ${(err as Error).message}. Is \`anju all\` (npm start) running? Give its address with --api URL.`);
  }
  const body = await res.json().catch(() => ({})) as { scenario?: string; startsAt?: string; devices?: number; error?: { code: string; message: string } };
  if (res.status === 202) {
    deps.stdout.write(`${body.scenario} on ${target}: ${body.devices} demo devices from ${body.startsAt}; watch the control room at ${api}/\n`);
    return 0;
  }
  const why = body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`;
  if (res.status === 404 && body.error?.code === 'not_found') throw new ConfigError(`${api} runs no demo fleet (start it with ANJU_SIM=1, the default of anju all): ${why}`);
  throw new ConfigError(`the platform refused the scenario: ${why}`);
}
